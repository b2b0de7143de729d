package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
	"github.com/bluegreen-action/bluegreen/internal/health"
	"github.com/bluegreen-action/bluegreen/internal/lock"
)

// withMarker makes the harness's live include carry the marker the
// default template writes, so that the fakes can name its color.
func (h *harness) withMarker(c color.Color) {
	h.sw.SetInclude([]byte(fmt.Sprintf("# bluegreen: color=%s deploy=old (managed by bluegreen; edits are overwritten)\nset $service_url http://127.0.0.1:%d;\n", c, h.apps[c].port)))
}

func (h *harness) upstream(c color.Color) string { return "127.0.0.1:" + strconv.Itoa(h.apps[c].port) }

func calls(s ...string) []string { return append([]string{}, s...) }

func callStrings(cs []deploytest.Call) []string { return deploytest.Strings(cs) }

var errInjected = errors.New("injected failure")

// failOn returns a Hook that fails the one method on the one subject.
func failOn(method, arg string) deploytest.Hook {
	return func(_ context.Context, m, a string) error {
		if m == method && a == arg {
			return errInjected
		}
		return nil
	}
}

// phaseCase is one whole deploy against the fakes: its setup, and what it
// leaves behind and undid.
type phaseCase struct {
	name   string
	setup  func(h *harness)
	inputs map[string]string

	wantKind    deploy.PhaseKind // "" for success
	wantIs      []error
	wantErrText string
	wantHint    string
	wantUndone  string

	wantActive, wantPrevious color.Color
	wantRolledBack           bool
	wantEngine               []string // calls that changed containers
	wantSwitch               []string // include writes, by the color written
	wantDrain                func(h *harness) []string
	wantLog                  string
	after                    func(t *testing.T, h *harness)
}

// TestDeployPhases runs whole deploys against the fakes: every path
// through the phases, what each leaves behind, and what it undid.
// TestObservePhases holds those of the observation window.
func TestDeployPhases(t *testing.T) {
	t.Parallel()
	runPhaseCases(t, []phaseCase{
		{
			name:       "first deploy starts blue",
			wantActive: color.Blue, wantPrevious: color.None,
			wantEngine: calls("EnsureImages app-blue", "Up app-blue"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue"),
			wantDrain:  func(*harness) []string { return calls("Drain ") },
		},
		{
			name:       "live blue: green starts, blue is stopped and kept (keep-previous is the default)",
			setup:      func(h *harness) { h.live(color.Blue) },
			wantActive: color.Green, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Stop app-blue"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green"),
			wantDrain:  func(h *harness) []string { return calls("Drain " + h.upstream(color.Blue)) },
		},
		{
			name:       "keep-previous: false removes the old color, keeping its networks",
			setup:      func(h *harness) { h.live(color.Green) },
			inputs:     map[string]string{"keep-previous": "false"},
			wantActive: color.Blue, wantPrevious: color.Green,
			wantEngine: calls("EnsureImages app-blue", "Up app-blue", "Remove app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue"),
		},
		{
			name:       "rollback starts the kept color again and keeps the one it leaves",
			setup:      func(h *harness) { h.live(color.Green); h.kept(color.Blue) },
			inputs:     map[string]string{"mode": "rollback"},
			wantActive: color.Blue, wantPrevious: color.Green, wantRolledBack: true,
			wantEngine: calls("Start app-blue", "Stop app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue"),
		},
		{
			name:       "rollback keeps the color it leaves even with keep-previous: false, so that it can roll forward again",
			setup:      func(h *harness) { h.live(color.Green); h.kept(color.Blue) },
			inputs:     map[string]string{"mode": "rollback", "keep-previous": "false"},
			wantActive: color.Blue, wantPrevious: color.Green, wantRolledBack: true,
			wantEngine: calls("Start app-blue", "Stop app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue"),
			after: func(t *testing.T, h *harness) {
				assert.True(t, h.eng.Exists("app-green"), "green is kept, stopped")
			},
		},
		{
			name:     "rollback without a kept color",
			setup:    func(h *harness) { h.live(color.Green) },
			inputs:   map[string]string{"mode": "rollback"},
			wantKind: deploy.PhaseStart, wantIs: []error{deploy.ErrNoRollback, deploy.ErrStart},
			wantHint: "keep-previous: true",
			// The history is empty too: the message says so.
			wantErrText: "app-blue has no containers (no kept previous color), and the history",
			wantActive:  color.Green, wantPrevious: color.Green, // green still serves
			wantEngine: calls(),
			wantSwitch: calls("RemoveStaleTemps "),
		},
		{
			name:     "rollback with nothing live",
			inputs:   map[string]string{"mode": "rollback"},
			wantKind: deploy.PhaseStart, wantIs: []error{deploy.ErrNoRollback},
			wantErrText: "nothing is live",
			wantEngine:  calls(),
			wantSwitch:  calls("RemoveStaleTemps "),
		},
		{
			name:     "rollback target fails its health check: stopped again, not removed",
			setup:    func(h *harness) { h.live(color.Green); h.kept(color.Blue); h.apps[color.Blue].status.Store(503) },
			inputs:   map[string]string{"mode": "rollback"},
			wantKind: deploy.PhaseHealth, wantIs: []error{deploy.ErrUnhealthy, health.ErrUnhealthy},
			wantUndone: "Stopped app-blue again. nginx still serves green",
			wantActive: color.Green, wantPrevious: color.Green,
			wantEngine: calls("Start app-blue", "Stop app-blue"),
			wantSwitch: calls("RemoveStaleTemps "),
		},
		{
			name:     "preflight: a bad input touches nothing",
			setup:    func(h *harness) { h.live(color.Blue) },
			inputs:   map[string]string{"service": "nope"},
			wantKind: deploy.PhasePreflight, wantIs: []error{deploy.ErrPreflight, config.ErrInvalid},
			wantErrText: `service "nope" is not defined`,
			wantEngine:  calls(),
			wantSwitch:  calls(),
			after: func(t *testing.T, h *harness) {
				_, released := h.locker.Held()
				assert.Equal(t, 0, released, "the lock was never taken")
			},
		},
		{
			name: "lock: another deploy holds it",
			setup: func(h *harness) {
				h.live(color.Blue)
				h.locker.Hook = func(context.Context, string, string) error {
					return fmt.Errorf("%w (10m0s): another deploy of this project holds it: pid 7", lock.ErrTimeout)
				}
			},
			wantKind: deploy.PhaseLock, wantIs: []error{deploy.ErrLock, lock.ErrTimeout},
			wantErrText: "pid 7",
			wantEngine:  calls(),
			wantSwitch:  calls(),
		},
		{
			name:     "find: Docker cannot list the colors",
			setup:    func(h *harness) { h.live(color.Blue); h.eng.Hook = failOn("List", "app-blue") },
			wantKind: deploy.PhaseFind, wantIs: []error{deploy.ErrFindLive, errInjected},
			wantEngine: calls(),
			wantSwitch: calls("RemoveStaleTemps "),
		},
		{
			name:     "start: the image cannot be pulled",
			setup:    func(h *harness) { h.live(color.Blue); h.eng.Hook = failOn("EnsureImages", "app-green") },
			wantKind: deploy.PhaseStart, wantIs: []error{deploy.ErrStart, errInjected},
			// The images come first: nothing of green was touched.
			wantUndone: "Nothing was started. nginx still serves blue",
			wantActive: color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green"),
			wantSwitch: calls("RemoveStaleTemps "),
			after: func(t *testing.T, h *harness) {
				assert.True(t, h.eng.Running("app-blue"), "blue still runs")
			},
		},
		{
			name:     "start: the containers cannot be created",
			setup:    func(h *harness) { h.live(color.Blue); h.eng.Hook = failOn("Up", "app-green") },
			wantKind: deploy.PhaseStart, wantIs: []error{deploy.ErrStart, errInjected},
			wantActive: color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps "),
		},
		{
			name:     "health: the new color never answers 200",
			setup:    func(h *harness) { h.live(color.Blue); h.apps[color.Green].status.Store(503) },
			wantKind: deploy.PhaseHealth, wantIs: []error{deploy.ErrUnhealthy, health.ErrUnhealthy},
			wantErrText: "HTTP 503",
			wantHint:    "health-path",
			wantUndone:  "Removed the new color app-green. nginx still serves blue",
			wantActive:  color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps "),
		},
		{
			name: "health: the new container exits",
			setup: func(h *harness) {
				h.live(color.Blue)
				h.apps[color.Green].status.Store(503)
				h.eng.LogText = "panic: no database\n"
				h.eng.Hook = func(_ context.Context, m, a string) error {
					if m == "Inspect" && a == "app-green_web" {
						h.eng.Exit("app-green", 3)
					}
					return nil
				}
			},
			inputs:   map[string]string{"health-retries": "50"},
			wantKind: deploy.PhaseHealth, wantIs: []error{deploy.ErrUnhealthy},
			wantErrText: "container app-green-web-1 exited with code 3",
			wantActive:  color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantLog:    "panic: no database",
			after: func(t *testing.T, h *harness) {
				var exited *deploy.ExitedError
				require.ErrorAs(t, h.err, &exited)
			},
		},
		{
			name:     "switch: nginx rejects the include",
			setup:    func(h *harness) { h.live(color.Blue); h.sw.Hook = failOn("Switch", "green") },
			wantKind: deploy.PhaseSwitch, wantIs: []error{deploy.ErrSwitch, errInjected},
			wantUndone: "Removed the new color app-green. nginx still serves blue",
			wantActive: color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green"),
			after: func(t *testing.T, h *harness) {
				include, _ := h.sw.Include()
				assert.Contains(t, string(include), strconv.Itoa(h.apps[color.Blue].port), "the include still names blue")
			},
		},
		{
			name: "switch: the front door never shows the new deploy; the include goes back",
			setup: func(h *harness) {
				h.live(color.Blue)
				h.withMarker(color.Blue)
				h.inputs["verify-url"] = h.frontDoor(false)
			},
			wantKind: deploy.PhaseSwitch, wantIs: []error{deploy.ErrSwitch, deploy.ErrNotConfirmed},
			wantErrText: "the previous include was put back",
			wantUndone:  "Removed the new color app-green",
			wantActive:  color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green", "Switch blue"),
		},
		{
			name: "switch: a first deploy's front door never shows it; the include it wrote is removed again",
			setup: func(h *harness) {
				h.inputs["verify-url"] = h.frontDoor(false)
			},
			wantKind: deploy.PhaseSwitch, wantIs: []error{deploy.ErrSwitch, deploy.ErrNotConfirmed},
			wantErrText: "the previous include was put back",
			wantUndone:  "Removed the new color app-blue. Checked after the failed switch: there is no include; nginx runs.",
			wantActive:  color.None, wantPrevious: color.None,
			wantEngine: calls("EnsureImages app-blue", "Up app-blue", "Down app-blue"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue", "Restore none"),
			after: func(t *testing.T, h *harness) {
				_, exists := h.sw.Include()
				assert.False(t, exists, "there was no include before the deploy, and there is none after it")
			},
		},
		{
			name:       "switch: the front door shows the new deploy",
			setup:      func(h *harness) { h.live(color.Blue); h.inputs["verify-url"] = h.frontDoor(true) },
			wantActive: color.Green, wantPrevious: color.Blue,
			wantSwitch: calls("RemoveStaleTemps ", "Switch green"),
			wantLog:    "answers from green (3 answers in a row",
		},
		{
			name:       "health: Docker's healthcheck is waited for",
			setup:      func(h *harness) { h.live(color.Blue); h.eng.Health = "healthy" },
			inputs:     map[string]string{"compose-file": "healthcheck.yml"},
			wantActive: color.Green, wantPrevious: color.Blue,
		},
		{
			name:     "health: Docker's healthcheck says unhealthy",
			setup:    func(h *harness) { h.live(color.Blue); h.eng.Health = "unhealthy" },
			inputs:   map[string]string{"compose-file": "healthcheck.yml"},
			wantKind: deploy.PhaseHealth, wantIs: []error{deploy.ErrUnhealthy},
			wantErrText: `Docker's healthcheck of app-green-web-1 still says "unhealthy"`,
			wantActive:  color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
		},
		{
			name:       "stop: the old color fails to stop; the deploy still succeeds",
			setup:      func(h *harness) { h.live(color.Blue); h.eng.Hook = failOn("Stop", "app-blue") },
			wantActive: color.Green, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Stop app-blue"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green"),
			wantLog:    "stopping blue failed",
		},
		{
			name:       "status changes nothing, even an include nginx has not loaded",
			setup:      func(h *harness) { h.live(color.Blue); h.withMarker(color.Blue); h.sw.PendingLoad = true },
			inputs:     map[string]string{"mode": "status"},
			wantActive: color.Blue, wantPrevious: color.Blue,
			wantEngine: calls(),
			wantSwitch: calls(),
			wantLog:    "nginx has not loaded its include",
		},
		{
			name:       "an include written but not loaded is loaded before the deploy",
			setup:      func(h *harness) { h.live(color.Blue); h.withMarker(color.Blue); h.sw.PendingLoad = true },
			wantActive: color.Green, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Stop app-blue"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue", "Switch green"),
			wantLog:    "repaired: nginx now serves blue",
		},
	})
}

// runPhaseCases runs each case in parallel and checks what it left.
func runPhaseCases(t *testing.T, tests []phaseCase) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			res, err := h.run(context.Background(), tt.inputs)
			require.NotNil(t, res)
			assert.Equal(t, err, res.Err, "the result carries the run's error")
			if tt.wantKind == "" {
				require.NoError(t, err)
			} else {
				var pe *deploy.PhaseError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tt.wantKind, pe.Kind, "failed phase: %v", err)
				for _, target := range tt.wantIs {
					assert.ErrorIs(t, err, target)
				}
				assert.Contains(t, pe.Err.Error(), tt.wantErrText)
				assert.Contains(t, pe.Hint, tt.wantHint)
				assert.Contains(t, pe.Undone, tt.wantUndone)
				require.NotEmpty(t, res.Phases)
				last := res.Phases[len(res.Phases)-1]
				if tt.wantKind != deploy.PhaseObserve {
					assert.Equal(t, tt.wantKind, last.Kind, "the last phase recorded is the one that failed")
					assert.Error(t, last.Err)
				}
			}
			assert.Equal(t, tt.wantActive, res.Active, "active color")
			assert.Equal(t, tt.wantPrevious, res.Previous, "previous color")
			assert.Equal(t, tt.wantRolledBack, res.RolledBack, "rolled back")
			if tt.wantEngine != nil {
				assert.Equal(t, tt.wantEngine, callStrings(h.eng.Calls()), "engine calls")
			}
			if tt.wantSwitch != nil {
				assert.Equal(t, tt.wantSwitch, callStrings(h.sw.Calls()), "switch calls")
			}
			if tt.wantDrain != nil {
				assert.Equal(t, tt.wantDrain(h), callStrings(h.drain.Calls()), "drains")
			}
			assert.Contains(t, h.log.String(), tt.wantLog)
			if tt.after != nil {
				tt.after(t, h)
			}
		})
	}
}

package deploy_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// The three ways a run's new color comes to run, as the failure tests set
// them up: each returns the inputs of the run that then fails.
var (
	// started: blue serves; the run deploys green from the compose files.
	started = func(h *harness, extra map[string]string) map[string]string {
		h.live(color.Blue)
		h.withMarker(color.Blue)
		return extra
	}
	// kept: green serves, blue was kept stopped; the run rolls back to it.
	kept = func(h *harness, extra map[string]string) map[string]string {
		h.live(color.Green)
		h.withMarker(color.Green)
		h.kept(color.Blue)
		return with(extra, "mode", "rollback")
	}
	// staged: blue serves, green was staged; the run promotes it.
	staged = func(h *harness, extra map[string]string) map[string]string {
		h.t.Helper()
		stageGreen(h.t, h)
		return with(extra, "mode", "promote")
	}
)

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, val := range m {
		out[key] = val
	}
	return out
}

// failsAfterSwitch makes c's app answer 500 once nginx is switched to it.
func failsAfterSwitch(h *harness, c color.Color) {
	h.sw.Hook = func(_ context.Context, m, a string) error {
		if m == "Switch" && a == c.String() {
			h.apps[c].status.Store(500)
		}
		return nil
	}
}

// TestFailureUndoes: what a failure of each phase undoes, for each origin
// of the new color (a started color is removed, a kept color restarted by
// a rollback is stopped again, a staged color is left running), as
// phases.go's failureUndoes and dispose say.
func TestFailureUndoes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		origin func(h *harness, extra map[string]string) map[string]string
		inputs map[string]string
		// fail makes the phase fail, once the origin is set up.
		fail func(h *harness)

		wantKind    deploy.PhaseKind // "" when the run succeeds all the same
		wantUndone  string
		wantEngine  []string // the run's calls that changed containers
		wantSwitch  []string // the run's include writes
		wantWarning string
		// The projects that run, and those kept stopped, afterwards.
		wantRunning, wantStopped []string
	}{
		{
			name: "preflight: nothing", origin: started, inputs: map[string]string{"service": "nope"},
			wantKind: deploy.PhasePreflight, wantEngine: calls(), wantSwitch: calls(),
			wantRunning: []string{"app-blue"},
		},
		{
			name: "lock: nothing", origin: started, fail: func(h *harness) { h.locker.Hook = failOn("Lock", "app") },
			wantKind: deploy.PhaseLock, wantEngine: calls(), wantSwitch: calls(),
			wantRunning: []string{"app-blue"},
		},
		{
			name: "find: nothing", origin: started, fail: func(h *harness) { h.eng.Hook = failOn("List", "app-green") },
			wantKind: deploy.PhaseFind, wantEngine: calls(), wantSwitch: calls("RemoveStaleTemps "),
			wantRunning: []string{"app-blue"},
		},
		{
			name: "start, started: removed", origin: started, fail: func(h *harness) { h.eng.Hook = failOn("Up", "app-green") },
			wantKind: deploy.PhaseStart, wantUndone: "Removed the new color app-green. nginx still serves blue",
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"), wantSwitch: calls("RemoveStaleTemps "),
			wantRunning: []string{"app-blue"},
		},
		{
			name: "start, kept: stopped again", origin: kept, fail: func(h *harness) { h.eng.Hook = failOn("Start", "app-blue") },
			wantKind: deploy.PhaseStart, wantUndone: "Stopped app-blue again. nginx still serves green",
			wantEngine: calls("Start app-blue", "Stop app-blue"), wantSwitch: calls("RemoveStaleTemps "),
			wantRunning: []string{"app-green"}, wantStopped: []string{"app-blue"},
		},
		{
			name: "health, started: removed", origin: started, fail: func(h *harness) { h.apps[color.Green].status.Store(503) },
			wantKind: deploy.PhaseHealth, wantUndone: "Removed the new color app-green. nginx still serves blue",
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"), wantSwitch: calls("RemoveStaleTemps "),
			wantRunning: []string{"app-blue"},
		},
		{
			name: "health, kept: stopped again", origin: kept, fail: func(h *harness) { h.apps[color.Blue].status.Store(503) },
			wantKind: deploy.PhaseHealth, wantUndone: "Stopped app-blue again. nginx still serves green",
			wantEngine: calls("Start app-blue", "Stop app-blue"), wantSwitch: calls("RemoveStaleTemps "),
			wantRunning: []string{"app-green"}, wantStopped: []string{"app-blue"},
		},
		{
			// The staged check passes (it runs and answers), but Docker's
			// healthcheck, which the promote waits for, now says unhealthy.
			name: "health, staged: left running", origin: staged, fail: func(h *harness) { h.eng.SetHealth("app-green", "unhealthy") },
			wantKind: deploy.PhaseHealth, wantUndone: "The staged green (app-green) was left running",
			wantEngine: calls(), wantSwitch: calls("RemoveStaleTemps "),
			wantRunning: []string{"app-blue", "app-green"},
		},
		{
			name: "switch, started: removed", origin: started, fail: func(h *harness) { h.sw.Hook = failOn("Switch", "green") },
			wantKind: deploy.PhaseSwitch, wantUndone: "Removed the new color app-green. nginx still serves blue",
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"), wantSwitch: calls("RemoveStaleTemps ", "Switch green"),
			wantRunning: []string{"app-blue"},
		},
		{
			name: "switch, kept: stopped again", origin: kept, fail: func(h *harness) { h.sw.Hook = failOn("Switch", "blue") },
			wantKind: deploy.PhaseSwitch, wantUndone: "Stopped app-blue again. nginx still serves green",
			wantEngine: calls("Start app-blue", "Stop app-blue"), wantSwitch: calls("RemoveStaleTemps ", "Switch blue"),
			wantRunning: []string{"app-green"}, wantStopped: []string{"app-blue"},
		},
		{
			name: "switch, staged: left running", origin: staged, fail: func(h *harness) { h.sw.Hook = failOn("Switch", "green") },
			wantKind: deploy.PhaseSwitch, wantUndone: "The staged green (app-green) was left running",
			wantEngine: calls(), wantSwitch: calls("RemoveStaleTemps ", "Switch green"),
			wantRunning: []string{"app-blue", "app-green"},
		},
		{
			name: "observe, started: switched back, removed", origin: started, inputs: map[string]string{"observe-seconds": "1"},
			fail:     func(h *harness) { failsAfterSwitch(h, color.Green) },
			wantKind: deploy.PhaseObserve, wantUndone: "Switched nginx back to blue (http://" + "BLUE). Removed the new color app-green.",
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"), wantSwitch: calls("RemoveStaleTemps ", "Switch green", "Switch blue"),
			wantRunning: []string{"app-blue"},
		},
		{
			name: "observe, kept: switched back, stopped again", origin: kept, inputs: map[string]string{"observe-seconds": "1"},
			fail:     func(h *harness) { failsAfterSwitch(h, color.Blue) },
			wantKind: deploy.PhaseObserve, wantUndone: "Switched nginx back to green (http://" + "GREEN). Stopped app-blue again.",
			wantEngine: calls("Start app-blue", "Stop app-blue"), wantSwitch: calls("RemoveStaleTemps ", "Switch blue", "Switch green"),
			wantRunning: []string{"app-green"}, wantStopped: []string{"app-blue"},
		},
		{
			name: "observe, staged: switched back, left running", origin: staged, inputs: map[string]string{"observe-seconds": "1"},
			fail:     func(h *harness) { h.withMarker(color.Blue); failsAfterSwitch(h, color.Green) },
			wantKind: deploy.PhaseObserve, wantUndone: "Switched nginx back to blue (http://" + "BLUE). The staged green (app-green) was left running",
			wantEngine: calls(), wantSwitch: calls("RemoveStaleTemps ", "Switch green", "Switch blue"),
			wantRunning: []string{"app-blue", "app-green"},
		},
		{
			name: "stop, started: the deploy succeeds", origin: started, fail: func(h *harness) { h.eng.Hook = failOn("Stop", "app-blue") },
			wantWarning: "the deploy succeeded, but stopping blue failed: injected failure; the next deploy removes it",
			wantEngine:  calls("EnsureImages app-green", "Up app-green", "Stop app-blue"), wantSwitch: calls("RemoveStaleTemps ", "Switch green"),
			wantRunning: []string{"app-blue", "app-green"},
		},
		{
			name: "stop, kept: the rollback succeeds", origin: kept, fail: func(h *harness) { h.eng.Hook = failOn("Stop", "app-green") },
			wantWarning: "the deploy succeeded, but stopping green failed: injected failure; the next deploy removes it",
			wantEngine:  calls("Start app-blue", "Stop app-green"), wantSwitch: calls("RemoveStaleTemps ", "Switch blue"),
			wantRunning: []string{"app-blue", "app-green"},
		},
		{
			name: "stop, staged: the promote succeeds", origin: staged, fail: func(h *harness) { h.eng.Hook = failOn("Stop", "app-blue") },
			wantWarning: "the deploy succeeded, but stopping blue failed: injected failure; the next deploy removes it",
			wantEngine:  calls("Stop app-blue"), wantSwitch: calls("RemoveStaleTemps ", "Switch green"),
			wantRunning: []string{"app-blue", "app-green"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			inputs := tt.origin(h, tt.inputs)
			if tt.fail != nil {
				tt.fail(h)
			}
			engine, sw := len(h.eng.Calls()), len(h.sw.Calls())
			res, err := h.run(context.Background(), inputs)
			if tt.wantKind == "" {
				require.NoError(t, err)
				assert.Contains(t, h.log.String(), "warning: "+tt.wantWarning)
			} else {
				var pe *deploy.PhaseError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tt.wantKind, pe.Kind, "failed phase: %v", err)
				undone := strings.NewReplacer("BLUE", h.upstream(color.Blue), "GREEN", h.upstream(color.Green)).Replace(tt.wantUndone)
				assert.Contains(t, pe.Undone, undone)
				assert.Equal(t, pe.Undone, res.Undone)
			}
			if res.Active != color.None {
				assert.Equal(t, "http://"+h.upstream(res.Active), res.ActiveURL, "the result names where the serving color answers")
				assert.Equal(t, h.apps[res.Active].port, res.ActivePort)
			}
			assert.Equal(t, tt.wantEngine, callStrings(h.eng.Calls()[engine:]), "engine calls")
			assert.Equal(t, tt.wantSwitch, callStrings(h.sw.Calls()[sw:]), "switch calls")
			for _, p := range []string{"app-blue", "app-green"} {
				assert.Equal(t, slices.Contains(tt.wantRunning, p), h.eng.Running(p), "%s runs", p)
				assert.Equal(t, slices.Contains(tt.wantRunning, p) || slices.Contains(tt.wantStopped, p), h.eng.Exists(p), "%s exists", p)
			}
		})
	}
}

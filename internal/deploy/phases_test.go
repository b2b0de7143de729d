package deploy_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// transition is one step between the phases a run records; deploy.PhaseEnd
// stands for the run's start (as from) and end (as to).
type transition struct{ from, to deploy.PhaseKind }

func (tr transition) String() string {
	name := func(k deploy.PhaseKind) string {
		if k == deploy.PhaseEnd {
			return "(end)"
		}
		return string(k)
	}
	if tr.from == deploy.PhaseEnd {
		return "(start) → " + name(tr.to)
	}
	return name(tr.from) + " → " + name(tr.to)
}

// transitions lists the steps of a run's recorded phases, from its start
// to its end.
func transitions(res *deploy.Result) []transition {
	var out []transition
	prev := deploy.PhaseEnd
	for _, p := range res.Phases {
		out = append(out, transition{prev, p.Kind})
		prev = p.Kind
	}
	return append(out, transition{prev, deploy.PhaseEnd})
}

// checkTransitions fails t when a run made a transition deploy.PhaseNext
// does not allow. The harness calls it after every run the tests make.
func checkTransitions(t testing.TB, res *deploy.Result) {
	t.Helper()
	if res == nil {
		return
	}
	for _, tr := range transitions(res) {
		if !slices.Contains(deploy.PhaseNext[tr.from], tr.to) {
			t.Errorf("the run made the transition %s, which PhaseNext does not allow (phases: %v)", tr, res.Phases)
		}
	}
}

// TestPhaseTransitions makes each transition PhaseNext allows, one run
// each: the table is the deploy's phases as they are, not as they were
// meant to be. A transition added to PhaseNext without a row here fails,
// and so does a row whose run does not make its transition.
func TestPhaseTransitions(t *testing.T) {
	t.Parallel()
	observe := map[string]string{"observe-seconds": "0.1"}
	greenFailsAfterSwitch := func(h *harness) {
		h.sw.Hook = func(_ context.Context, m, a string) error {
			if m == "Switch" && a == "green" {
				h.apps[color.Green].status.Store(500)
			}
			return nil
		}
	}
	tests := []struct {
		want   transition
		setup  func(h *harness) map[string]string // returns the run's inputs
		failed bool                               // the run fails
	}{
		{transition{deploy.PhaseEnd, deploy.PhasePreflight}, nil, false},
		{transition{deploy.PhaseEnd, deploy.PhaseFind}, func(*harness) map[string]string { return map[string]string{"mode": "history"} }, false},
		{transition{deploy.PhasePreflight, deploy.PhaseLock}, nil, false},
		{transition{deploy.PhasePreflight, deploy.PhaseEnd}, func(*harness) map[string]string { return map[string]string{"service": "nope"} }, true},
		{transition{deploy.PhaseLock, deploy.PhaseFind}, nil, false},
		{transition{deploy.PhaseLock, deploy.PhaseEnd}, func(h *harness) map[string]string {
			h.locker.Hook = failOn("Lock", "app")
			return nil
		}, true},
		{transition{deploy.PhaseFind, deploy.PhaseEnd}, func(*harness) map[string]string { return map[string]string{"mode": "status"} }, false},
		{transition{deploy.PhaseFind, deploy.PhaseStart}, nil, false},
		{transition{deploy.PhaseFind, deploy.PhaseHealth}, func(h *harness) map[string]string {
			stageGreen(t, h)
			return map[string]string{"mode": "promote"}
		}, false},
		{transition{deploy.PhaseFind, deploy.PhaseStop}, func(h *harness) map[string]string { return map[string]string{"mode": "abort"} }, false},
		{transition{deploy.PhaseStart, deploy.PhaseStart}, func(h *harness) map[string]string {
			v1 := h.version("v1", nil)
			h.version("v2", nil)
			return map[string]string{"mode": "rollback", "to": v1.DeployID}
		}, false},
		{transition{deploy.PhaseStart, deploy.PhaseHealth}, nil, false},
		{transition{deploy.PhaseStart, deploy.PhaseEnd}, func(h *harness) map[string]string {
			h.eng.Hook = failOn("Up", "app-blue")
			return nil
		}, true},
		{transition{deploy.PhaseHealth, deploy.PhaseHealth}, func(h *harness) map[string]string {
			stageGreen(t, h)
			return map[string]string{"mode": "promote"}
		}, false},
		{transition{deploy.PhaseHealth, deploy.PhaseSwitch}, nil, false},
		{transition{deploy.PhaseHealth, deploy.PhaseCanary}, func(h *harness) map[string]string {
			canaryHarness(h)
			return canaryInputs
		}, false},
		{transition{deploy.PhaseCanary, deploy.PhaseSwitch}, func(h *harness) map[string]string {
			canaryHarness(h)
			return canaryInputs
		}, false},
		{transition{deploy.PhaseCanary, deploy.PhaseEnd}, func(h *harness) map[string]string {
			canaryHarness(h, window(90, 0, 10, 10))
			return canaryInputs
		}, true},
		{transition{deploy.PhaseFind, deploy.PhaseSwitch}, func(h *harness) map[string]string {
			h.live(color.Blue)
			h.withMarker(color.Blue)
			return map[string]string{"mode": "maintenance"}
		}, false},
		{transition{deploy.PhaseHealth, deploy.PhaseEnd}, func(*harness) map[string]string { return map[string]string{"mode": "stage"} }, false},
		{transition{deploy.PhaseSwitch, deploy.PhaseObserve}, func(*harness) map[string]string { return observe }, false},
		{transition{deploy.PhaseSwitch, deploy.PhaseDrain}, nil, false},
		{transition{deploy.PhaseSwitch, deploy.PhaseEnd}, func(h *harness) map[string]string {
			h.sw.Hook = failOn("Switch", "blue")
			return nil
		}, true},
		{transition{deploy.PhaseObserve, deploy.PhaseDrain}, func(*harness) map[string]string { return observe }, false},
		{transition{deploy.PhaseObserve, deploy.PhaseSwitchBack}, func(h *harness) map[string]string {
			h.live(color.Blue)
			greenFailsAfterSwitch(h)
			return observe
		}, true},
		{transition{deploy.PhaseObserve, deploy.PhaseEnd}, func(h *harness) map[string]string {
			h.sw.Hook = func(_ context.Context, m, a string) error {
				if m == "Switch" && a == "blue" {
					h.apps[color.Blue].status.Store(500)
				}
				return nil
			}
			return observe
		}, true},
		{transition{deploy.PhaseSwitch, deploy.PhaseSingletons}, withRoles, false},
		{transition{deploy.PhaseObserve, deploy.PhaseSingletons}, func(h *harness) map[string]string {
			withRoles(h)
			return observe
		}, false},
		{transition{deploy.PhaseSingletons, deploy.PhaseDrain}, withRoles, false},
		{transition{deploy.PhaseSingletons, deploy.PhaseSwitchBack}, func(h *harness) map[string]string {
			liveWithRoles(h, color.Blue)
			h.eng.SingletonsExit("app-green")
			return nil
		}, true},
		{transition{deploy.PhaseSingletons, deploy.PhaseEnd}, func(h *harness) map[string]string {
			withRoles(h)
			h.eng.SingletonsExit("app-blue")
			return nil
		}, true},
		{transition{deploy.PhaseSwitchBack, deploy.PhaseDrain}, func(h *harness) map[string]string {
			h.live(color.Blue)
			greenFailsAfterSwitch(h)
			return observe
		}, true},
		{transition{deploy.PhaseSwitchBack, deploy.PhaseEnd}, func(h *harness) map[string]string {
			h.live(color.Blue)
			h.withMarker(color.Blue) // so that the fake names the switch back "blue"
			h.sw.Hook = func(_ context.Context, m, a string) error {
				switch {
				case m == "Switch" && a == "green":
					h.apps[color.Green].status.Store(500)
				case m == "Switch" && a == "blue":
					return errInjected
				}
				return nil
			}
			return observe
		}, true},
		{transition{deploy.PhaseDrain, deploy.PhaseStop}, func(h *harness) map[string]string {
			h.live(color.Blue)
			return nil
		}, false},
		{transition{deploy.PhaseDrain, deploy.PhaseEnd}, nil, false},
		{transition{deploy.PhaseStop, deploy.PhaseEnd}, func(h *harness) map[string]string {
			h.live(color.Blue)
			return nil
		}, false},
	}

	tested := map[transition]bool{}
	for _, tt := range tests {
		tested[tt.want] = true
	}
	var untested []string
	for from, tos := range deploy.PhaseNext {
		for _, to := range tos {
			if !tested[transition{from, to}] {
				untested = append(untested, transition{from, to}.String())
			}
		}
	}
	sort.Strings(untested)
	assert.Empty(t, untested, "transitions PhaseNext allows that no row makes")

	for _, tt := range tests {
		t.Run(tt.want.String(), func(t *testing.T) {
			t.Parallel()
			require.Contains(t, deploy.PhaseNext[tt.want.from], tt.want.to, "the row's transition is in PhaseNext")
			h := newHarness(t)
			var inputs map[string]string
			if tt.setup != nil {
				inputs = tt.setup(h)
			}
			res, err := h.run(context.Background(), inputs)
			if tt.failed {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			require.Contains(t, transitions(res), tt.want, "phases: %v", fmt.Sprint(res.Phases))
		})
	}
}

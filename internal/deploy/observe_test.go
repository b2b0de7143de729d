package deploy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/health"
)

// TestObservePhases: deploys with observe-seconds, where the new color
// serves while the old one still runs, and nginx goes back to the old one
// when the new one fails.
func TestObservePhases(t *testing.T) {
	t.Parallel()
	runPhaseCases(t, []phaseCase{
		{
			name: "observe: switching back fails too; the error says nginx still points at the new color",
			setup: func(h *harness) {
				h.live(color.Blue)
				h.withMarker(color.Blue)
				h.sw.Hook = func(_ context.Context, m, a string) error {
					switch {
					case m == "Switch" && a == "green":
						h.apps[color.Green].status.Store(500)
					case m == "Switch" && a == "blue":
						return errInjected
					}
					return nil
				}
			},
			inputs:   map[string]string{"observe-seconds": "1"},
			wantKind: deploy.PhaseObserve, wantIs: []error{deploy.ErrObserve},
			wantUndone: "Switching nginx back to blue FAILED: injected failure; nginx still points at green",
			wantActive: color.Green, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green", "Switch blue"),
		},
		{
			name: "observe: the new color turns unhealthy; nginx goes back",
			setup: func(h *harness) {
				h.live(color.Blue)
				h.withMarker(color.Blue)
				h.sw.Hook = func(_ context.Context, m, a string) error {
					if m == "Switch" && a == "green" {
						h.apps[color.Green].status.Store(500)
					}
					return nil
				}
			},
			inputs:   map[string]string{"observe-seconds": "1"},
			wantKind: deploy.PhaseObserve, wantIs: []error{deploy.ErrObserve, health.ErrUnhealthy},
			wantUndone: "Switched nginx back to blue",
			wantActive: color.Blue, wantPrevious: color.Blue, wantRolledBack: true,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green", "Switch blue"),
			wantDrain:  func(h *harness) []string { return calls("Drain " + h.upstream(color.Green)) },
			after: func(t *testing.T, h *harness) {
				assert.True(t, h.eng.Running("app-blue"), "blue was never stopped")
			},
		},
		{
			name: "observe: the new color crashes; the error is the crash, not a health check",
			setup: func(h *harness) {
				h.live(color.Blue)
				h.withMarker(color.Blue)
				h.sw.Hook = func(_ context.Context, m, a string) error {
					if m == "Switch" && a == "green" {
						h.eng.Exit("app-green", 3)
					}
					return nil
				}
			},
			inputs:   map[string]string{"observe-seconds": "1"},
			wantKind: deploy.PhaseObserve, wantIs: []error{deploy.ErrObserve},
			wantErrText: "exited with code 3",
			wantActive:  color.Blue, wantPrevious: color.Blue, wantRolledBack: true,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green", "Switch blue"),
		},
		{
			name: "observe on a first deploy: nothing to go back to",
			setup: func(h *harness) {
				h.sw.Hook = func(_ context.Context, m, a string) error {
					if m == "Switch" && a == "blue" {
						h.apps[color.Blue].status.Store(500)
					}
					return nil
				}
			},
			inputs:   map[string]string{"observe-seconds": "1"},
			wantKind: deploy.PhaseObserve, wantIs: []error{deploy.ErrObserve},
			wantUndone: "Nothing was undone",
			wantActive: color.Blue, wantPrevious: color.None,
			wantEngine: calls("EnsureImages app-blue", "Up app-blue"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue"),
		},
		{
			name:       "observe: a healthy new color stays",
			setup:      func(h *harness) { h.live(color.Blue) },
			inputs:     map[string]string{"observe-seconds": "0.1"},
			wantActive: color.Green, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Stop app-blue"),
			wantLog:    "stayed healthy",
		},
	})
}

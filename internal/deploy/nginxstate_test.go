package deploy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
)

// TestWhatFindSaysOfNginx: the find phase removes the temp files a killed
// deploy left next to the include and says so, and preflight warns when
// nginx sets no worker_shutdown_timeout; mode status does neither, since
// it changes nothing and a warning there would repeat on every status run.
func TestWhatFindSaysOfNginx(t *testing.T) {
	t.Parallel()
	const stale = "removed temp file(s) a killed deploy left next to the include: .service-url.inc.tmp-1"
	const noTimeout = "nginx sets no worker_shutdown_timeout"
	for _, tt := range []struct {
		name      string
		mode      string
		temps     []string
		noTimeout bool
		wantInfo  string
		wantWarn  string
	}{
		{name: "deploy: temps removed", temps: []string{".service-url.inc.tmp-1"}, wantInfo: stale},
		{name: "deploy: no worker_shutdown_timeout", noTimeout: true, wantWarn: noTimeout},
		{name: "status: neither", mode: "status", temps: []string{".service-url.inc.tmp-1"}, noTimeout: true},
		{name: "deploy: nothing to say"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.rec = &deploytest.Reporter{}
			h.sw.StaleTemps, h.sw.NoShutdownTimeout = tt.temps, tt.noTimeout
			h.must(map[string]string{"mode": tt.mode})
			infos, warnings := h.rec.Of("info"), h.rec.Of("warning")
			if tt.wantInfo != "" {
				assert.Contains(t, infos, tt.wantInfo)
			} else {
				for _, l := range infos {
					assert.NotContains(t, l, "removed temp file(s)")
				}
			}
			if tt.wantWarn != "" {
				assert.Len(t, warnings, 1)
				assert.Contains(t, warnings[0], tt.wantWarn)
			} else {
				assert.Empty(t, warnings)
			}
		})
	}
}

// TestFindRepairsAnUnloadedInclude: an include written but never loaded by
// nginx (a deploy killed between the two) is loaded when the color it
// names is healthy, pointed at the other color when only that one is, and
// stops the deploy when neither is.
func TestFindRepairsAnUnloadedInclude(t *testing.T) {
	t.Parallel()
	pending := func(h *harness) {
		h.live(color.Blue)
		h.eng.Run("app-green", "web", "app:v0")
		h.withMarker(color.Blue)
		h.sw.PendingLoad = true
	}
	runPhaseCases(t, []phaseCase{
		{
			name: "the color it names is not healthy: nginx is pointed at the other one",
			setup: func(h *harness) {
				pending(h)
				h.apps[color.Blue].status.Store(503)
			},
			// The deploy then starts blue, which still fails its check.
			wantKind: deploy.PhaseHealth, wantIs: []error{deploy.ErrUnhealthy},
			// blue's old containers were set aside, not removed, and come back.
			wantUndone: "Removed the new color app-blue; the kept blue (deploy unknown, image app:v0) was put back. nginx still serves green",
			wantActive: color.Green, wantPrevious: color.Green,
			wantEngine: calls("EnsureImages app-blue", "SetAside app-blue", "Up app-blue", "Remove app-blue", "PutBack app-blue"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green"),
			wantLog:    "repaired: nginx now serves green",
		},
		{
			name: "neither color is healthy: the deploy stops before anything starts",
			setup: func(h *harness) {
				pending(h)
				h.apps[color.Blue].status.Store(503)
				h.apps[color.Green].status.Store(503)
			},
			wantKind: deploy.PhaseFind, wantIs: []error{deploy.ErrFindLive},
			wantErrText: "the include names blue but nginx has not loaded it, and neither color answers its health check",
			wantEngine:  calls(),
			wantSwitch:  calls("RemoveStaleTemps "),
		},
	})
}

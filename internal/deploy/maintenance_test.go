package deploy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// TestMaintenancePhases: maintenance and live switch the include only,
// checked and reversible; no container is touched.
func TestMaintenancePhases(t *testing.T) {
	t.Parallel()
	maint := map[string]string{"mode": "maintenance"}
	runPhaseCases(t, []phaseCase{
		{
			name:       "maintenance: nginx answers 503 with Retry-After; the health path and marker pass; no container is touched",
			setup:      func(h *harness) { h.live(color.Blue); h.withMarker(color.Blue) },
			inputs:     maint,
			wantActive: color.Blue, wantPrevious: color.Blue,
			wantEngine: calls(),
			wantSwitch: calls("RemoveStaleTemps ", "Switch maintenance:blue"),
			after: func(t *testing.T, h *harness) {
				inc, _ := h.sw.Include()
				s := string(inc)
				assert.Contains(t, s, "# bluegreen: color=blue deploy=old mode=maintenance")
				assert.Contains(t, s, "return 503;")
				assert.Contains(t, s, "add_header Retry-After 60 always;")
				assert.Contains(t, s, `if ($uri ~ "^/health$") { set $bluegreen_app_maint ""; }`, "the health path reaches the app")
				assert.Contains(t, s, "Service temporarily unavailable for maintenance", "the plain default page")
				assert.True(t, h.eng.Running("app-blue"))
			},
		},
		{
			name:     "maintenance with nothing serving yet fails and changes nothing",
			inputs:   maint,
			wantKind: deploy.PhaseSwitch, wantErrText: "nothing serves yet",
			wantUndone: "No container was touched",
			wantEngine: calls(),
			wantSwitch: calls("RemoveStaleTemps "),
		},
		{
			name:       "live when nginx is not in maintenance changes nothing",
			setup:      func(h *harness) { h.live(color.Blue); h.withMarker(color.Blue) },
			inputs:     map[string]string{"mode": "live"},
			wantActive: color.Blue, wantPrevious: color.Blue,
			wantEngine: calls(),
			wantSwitch: calls("RemoveStaleTemps "),
			wantLog:    "nginx is not in maintenance",
		},
		{
			name: "a maintenance switch nginx refuses leaves the include as it was",
			setup: func(h *harness) {
				h.live(color.Blue)
				h.withMarker(color.Blue)
				h.sw.Hook = failOn("Switch", "maintenance:blue")
			},
			inputs:   maint,
			wantKind: deploy.PhaseSwitch, wantIs: []error{errInjected},
			wantActive: color.Blue, wantPrevious: color.Blue,
			wantEngine: calls(),
			wantSwitch: calls("RemoveStaleTemps ", "Switch maintenance:blue"),
		},
	})
}

// TestMaintenanceThenLiveIsExact: live puts back the include that served
// before maintenance byte for byte, also after maintenance was switched
// on twice, and a deploy during maintenance refuses, naming mode live.
func TestMaintenanceThenLiveIsExact(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue) // the seed's include, without a marker
	before, _ := h.sw.Include()

	res := h.must(map[string]string{"mode": "maintenance"})
	assert.Contains(t, res.Serving, "maintenance page in front of blue")
	assert.Contains(t, res.Summary("app"), "**nginx serves:** the maintenance page in front of blue")
	assert.Contains(t, res.Summary("app"), "### bluegreen app: 🚧 maintenance")
	res = h.must(map[string]string{"mode": "maintenance"})
	assert.Contains(t, res.Serving, "maintenance")

	res = h.must(map[string]string{"mode": "status"})
	assert.Equal(t, color.Blue, res.Active)
	assert.Contains(t, res.Serving, "maintenance page in front of blue", "status shows it")

	_, err := h.run(context.Background(), nil)
	require.ErrorIs(t, err, deploy.ErrMaintenance)
	require.ErrorContains(t, err, "run mode: live first")
	assert.False(t, h.eng.Exists("app-green"), "the refused deploy started nothing")

	res = h.must(map[string]string{"mode": "live"})
	assert.Contains(t, res.Summary("app"), "### bluegreen app: ✅ live")
	after, _ := h.sw.Include()
	assert.Equal(t, string(before), string(after), "exactly what served before")

	entries, _, err := h.hist.Entries()
	require.NoError(t, err)
	var modes []string
	for _, e := range entries {
		modes = append(modes, e.Mode+":"+string(e.Result))
	}
	assert.Equal(t, []string{"maintenance:succeeded", "maintenance:succeeded", "deploy:failed", "live:succeeded"}, modes, "the history shows it")
}

// TestMaintenancePage: maintenance-page is written where nginx serves it
// from, and the include serves it.
func TestMaintenancePage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.withMarker(color.Blue)
	require.NoError(t, os.WriteFile(filepath.Join(h.dir, "down.html"), []byte("<h1>back soon</h1>"), 0o644))
	var written []byte
	h.writePage = func(page []byte) (string, error) {
		written = page
		return "/etc/nginx/conf.d/service-url.inc.maintenance.html", nil
	}
	h.must(map[string]string{"mode": "maintenance", "maintenance-page": "down.html"})
	assert.Equal(t, "<h1>back soon</h1>", string(written))
	inc, _ := h.sw.Include()
	assert.Contains(t, string(inc), "root /etc/nginx/conf.d/; try_files /service-url.inc.maintenance.html =503;")
	assert.NotContains(t, string(inc), "Service temporarily unavailable")
	prev, err := nginx.PreviousInclude(inc)
	require.NoError(t, err)
	assert.Contains(t, string(prev), "color=blue deploy=old")
}

// TestMaintenancePageNotWritten: a maintenance-page that cannot be
// written fails the run with why, and nginx is not switched.
func TestMaintenancePageNotWritten(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.withMarker(color.Blue)
	require.NoError(t, os.WriteFile(filepath.Join(h.dir, "down.html"), []byte("<h1>back soon</h1>"), 0o644))
	h.writePage = func([]byte) (string, error) { return "", errInjected }
	_, err := h.run(context.Background(), map[string]string{"mode": "maintenance", "maintenance-page": "down.html"})
	require.ErrorIs(t, err, errInjected)
	inc, _ := h.sw.Include()
	assert.NotContains(t, string(inc), "maintenance", "nginx serves what it served")
}

// TestMaintenanceConfirmsAtTheFrontDoor: with verify-url, maintenance and
// live are each confirmed by the marker's whole answer; a front door that
// never shows maintenance puts the include back and fails.
func TestMaintenanceConfirmsAtTheFrontDoor(t *testing.T) {
	t.Parallel()
	answer := func(h *harness, show bool) string {
		before, _ := h.sw.Include()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			cur, _ := h.sw.Include()
			if !show {
				cur = before
			}
			m, _, _ := nginx.ReadMarker(cur)
			_, _ = w.Write([]byte(m.Answer() + "\n"))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	h := newHarness(t)
	h.live(color.Blue)
	h.withMarker(color.Blue)
	h.frontDoorTimeout = -1
	h.inputs["verify-url"] = answer(h, true)
	h.must(map[string]string{"mode": "maintenance"})
	assert.Contains(t, h.log.String(), "front door")
	h.must(map[string]string{"mode": "live"})

	h = newHarness(t)
	h.live(color.Blue)
	h.withMarker(color.Blue)
	before, _ := h.sw.Include()
	h.inputs["verify-url"] = answer(h, false)
	_, err := h.run(context.Background(), map[string]string{"mode": "maintenance"})
	require.ErrorIs(t, err, deploy.ErrNotConfirmed)
	require.ErrorContains(t, err, "the previous include was put back")
	after, _ := h.sw.Include()
	assert.Equal(t, string(before), string(after))
}

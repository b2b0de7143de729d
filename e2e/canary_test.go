//go:build e2e

package e2e

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/loadgen"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// canaryApp is the single-file project with FAIL_EVERY passed on.
const canaryApp = `services:
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION:-v1}
      FAIL_EVERY: ${FAIL_EVERY:-0}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    ports:
      - "${BLUEGREEN_PORT}:8080"
`

// newCanaryFixture is a project behind an nginx whose http block includes
// a conf.d-like pattern, as Debian's and nginx.org's packages do, so that
// the canary's evidence format has its place.
func newCanaryFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, map[string]string{"docker-compose.yml": canaryApp})
	prefix := t.TempDir()
	httpd := filepath.Join(prefix, "http.d")
	require.NoError(t, os.MkdirAll(httpd, 0o755))
	f.nginx = testenv.StartNginx(t, testenv.NginxOptions{Prefix: prefix, HTTP: "    include " + httpd + "/*.conf;\n"})
	f.inputs["nginx-include-path"] = f.nginx.IncludePath
	f.inputs["nginx-test-command"] = strings.Join(f.nginx.TestCmd(), " ")
	f.inputs["nginx-reload-command"] = strings.Join(f.nginx.ReloadCmd(), " ")
	return f
}

// TestCanaryUnderLoad: canary 10,50 under load moves to 100 % with no
// failed request, and at each step nginx's counts per color match the
// step's share within 5 points.
func TestCanaryUnderLoad(t *testing.T) {
	f := newCanaryFixture(t)
	r := f.deploy(nil, "VERSION=v0")
	require.Equal(t, 0, r.code, r.out)
	gen := startLoad(t, loadgen.Config{BaseURL: f.nginx.URL(""), MaxRequests: 100_000})
	time.Sleep(300 * time.Millisecond)

	r = f.deploy(map[string]string{"canary-steps": "10,50", "canary-interval": "4s"}, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	time.Sleep(300 * time.Millisecond)
	records := gen.Stop()

	require.Len(t, r.result.Canary, 2, "a step each")
	for i, want := range []int{10, 50} {
		s := r.result.Canary[i]
		v := s.Verdict
		total := v.Old.Requests + v.New.Requests
		require.Equal(t, "passed", s.Result, "step %d %%: %+v", want, s)
		require.Greater(t, total, int64(200), "step %d %%: too few requests to measure a share", want)
		share := float64(v.New.Requests) * 100 / float64(total)
		t.Logf("step %d %%: blue/green %d/%d requests, new color's share %.1f %%", want, v.Old.Requests, v.New.Requests, share)
		assert.LessOrEqual(t, math.Abs(share-float64(want)), 5.0, "step %d %%: the new color got %.1f %% of nginx's requests", want, share)
		assert.Zero(t, v.Old.Errors+v.New.Errors)
	}
	sum := loadgen.Summary(records)
	t.Logf("canary under load:\n%s", loadgen.Format(sum))
	for _, k := range []loadgen.Kind{loadgen.KeepAliveGET, loadgen.NewConnGET, loadgen.Slow} {
		require.Zero(t, sum[k].Non2xx+sum[k].Transport, "%s failures", k)
		require.Positive(t, sum[k].OK, "%s sent nothing", k)
	}
	require.Zero(t, sum[loadgen.POST].Non2xx, "POST answered with an error")
	require.Equal(t, sum[loadgen.POST].Transport, sum[loadgen.POST].IdleResets, "every POST failure is the keep-alive race")
	f.requireServes("v1", "green")
	assert.Contains(t, r.result.Summary(f.project), "| 10 % |")
	_, err := os.Stat(f.nginx.IncludePath + ".evidence")
	assert.ErrorIs(t, err, os.ErrNotExist, "the evidence log is removed after the canary")
}

// TestCanaryStopsFailingVersion: a new version that answers 5 % of its
// requests with 500 is stopped at the first step: a non-zero exit naming
// nginx's evidence, all traffic back on the old color, the new color
// removed, and the evidence in the summary.
func TestCanaryStopsFailingVersion(t *testing.T) {
	f := newCanaryFixture(t)
	r := f.deploy(nil, "VERSION=v0")
	require.Equal(t, 0, r.code, r.out)
	gen := startLoad(t, loadgen.Config{BaseURL: f.nginx.URL(""), MaxRequests: 100_000})
	time.Sleep(300 * time.Millisecond)

	r = f.deploy(map[string]string{"canary-steps": "10,50", "canary-interval": "5s"}, "VERSION=v1", "FAIL_EVERY=20")
	gen.Stop()
	pe := r.requireFailedIn(t, deploy.PhaseCanary)
	require.ErrorIs(t, r.result.Err, deploy.ErrCanary)
	require.Len(t, r.result.Canary, 1, "stopped at the first step")
	v := r.result.Canary[0].Verdict
	require.Positive(t, v.New.Errors, "nginx logged green's 500s")
	require.Contains(t, pe.Err.Error(), fmt.Sprintf("nginx answered %d of green's %d requests with 5xx", v.New.Errors, v.New.Requests))
	require.Contains(t, pe.Err.Error(), "every request was put back on blue")
	summary := r.result.Summary(f.project)
	require.Contains(t, summary, fmt.Sprintf("| 10 %% | %d | %d |", v.Old.Requests, v.Old.Errors))
	require.Contains(t, summary, "failed")
	require.Empty(t, f.running("green"), "the new color was removed")
	for i := 0; i < 50; i++ {
		f.requireServes("v0", "blue")
	}
}

// TestMaintenanceOnAndOff: during maintenance every request but the
// health path is nginx's 503 with Retry-After and the page, no container
// is touched; live puts back exactly what served. Under load, only 503s
// during maintenance and no failed request outside it.
func TestMaintenanceOnAndOff(t *testing.T) {
	f := newCanaryFixture(t)
	r := f.deploy(nil, "VERSION=v0")
	require.Equal(t, 0, r.code, r.out)
	before, err := os.ReadFile(f.nginx.IncludePath)
	require.NoError(t, err)
	blue := f.running("blue")
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "down.html"), []byte("<h1>back soon</h1>\n"), 0o644))

	gen := startLoad(t, loadgen.Config{BaseURL: f.nginx.URL(""), MaxRequests: 100_000})
	time.Sleep(300 * time.Millisecond)
	r = f.deploy(map[string]string{"mode": "maintenance", "maintenance-page": "down.html"})
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "nginx answers 503 (maintenance) in front of blue; no container was touched")
	maintOn := time.Now()
	time.Sleep(time.Second)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/", "/slow?ms=1", "/anything"} {
		for i := 0; i < 20; i++ {
			resp, err := c.Get(f.nginx.URL(path))
			require.NoError(t, err)
			body := make([]byte, 100)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, path)
			require.Equal(t, "60", resp.Header.Get("Retry-After"), path)
			require.Equal(t, "<h1>back soon</h1>\n", string(body[:n]), path)
		}
	}
	code, body, err := f.get("/health")
	require.NoError(t, err)
	require.Equal(t, 200, code, "the health path still reaches the app: %s", body)
	require.Equal(t, blue, f.running("blue"), "no container touched")
	r = f.deploy(map[string]string{"mode": "status"})
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.result.Serving, "maintenance page in front of blue")

	maintOff := time.Now()
	r = f.deploy(map[string]string{"mode": "live"})
	require.Equal(t, 0, r.code, r.out)
	liveAgain := time.Now()
	time.Sleep(time.Second)
	records := gen.Stop()
	// Under load: a request answered by nginx during maintenance is its
	// 503; before and after it, none failed. A request begun while the
	// include was being switched may get either answer; nginx's old
	// workers finish what they had begun, so a margin of 300 ms follows
	// each switch.
	const margin = 300 * time.Millisecond
	var nDuring, nAfter int
	for _, rec := range records {
		switch {
		case rec.Status == 0:
			require.True(t, rec.Kind == loadgen.POST && loadgen.IsIdleReset(rec), "a request failed outright: %+v", rec)
		case rec.Start.After(maintOn.Add(margin)) && rec.End.Before(maintOff):
			nDuring++
			require.Equal(t, http.StatusServiceUnavailable, rec.Status, "during maintenance: %+v", rec)
		case rec.Start.After(liveAgain.Add(margin)):
			nAfter++
			require.True(t, rec.OK(), "after live: %+v", rec)
		default:
			require.True(t, rec.OK() || rec.Status == http.StatusServiceUnavailable, "around a switch: %+v", rec)
		}
	}
	require.Positive(t, nDuring, "no request measured during maintenance")
	require.Positive(t, nAfter, "no request measured after live")
	t.Logf("under load: %d requests answered 503 during maintenance, %d OK after live", nDuring, nAfter)
	after, err := os.ReadFile(f.nginx.IncludePath)
	require.NoError(t, err)
	require.Equal(t, string(before), string(after), "live puts back exactly what served")
	for i := 0; i < 100; i++ {
		f.requireServes("v0", "blue")
	}
	require.Equal(t, blue, f.running("blue"))
}

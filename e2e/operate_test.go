//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
	"github.com/bluegreen-action/bluegreen/internal/loadgen"
)

// getURL fetches url on a fresh connection.
func getURL(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, string(body))
	return strings.TrimSpace(string(body))
}

// TestStagePromoteUnderLoad: a staged version runs beside the live one
// and answers on its preview URL while nginx keeps serving the live one;
// promoting it switches with zero failed requests.
func TestStagePromoteUnderLoad(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.deploy(nil, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	switches := []loadgen.Switch{{Version: "v1", Began: r.result.Started}}
	gen := startLoad(t, loadgen.Config{BaseURL: f.nginx.URL(""), MaxRequests: 50_000})
	time.Sleep(300 * time.Millisecond)

	staged := f.deploy(map[string]string{"mode": "stage"}, "VERSION=v2")
	require.Equal(t, 0, staged.code, staged.out)
	require.Equal(t, "green", staged.outputs["staged-color"])
	require.Equal(t, "blue", staged.outputs["active-color"])
	require.Equal(t, "version=v2 color=green", getURL(t, staged.outputs["preview-url"]+"/"), "the staged version answers on its preview URL")
	f.requireServes("v1", "blue")

	promoted := f.deploy(map[string]string{"mode": "promote", "deploy-id": staged.outputs["deploy-id"]}, "VERSION=v2")
	require.Equal(t, 0, promoted.code, promoted.out)
	require.Equal(t, staged.outputs["deploy-id"], promoted.outputs["deploy-id"])
	switches = append(switches, switchOf(t, "v2", promoted))
	time.Sleep(300 * time.Millisecond)
	records := gen.Stop()

	sum := loadgen.Summary(records)
	t.Logf("stage and promote under load:\n%s", loadgen.Format(sum))
	require.Empty(t, loadgen.Check(records, switches), "zero-downtime violations")
	for _, k := range []loadgen.Kind{loadgen.KeepAliveGET, loadgen.NewConnGET, loadgen.Slow} {
		require.Zero(t, sum[k].Non2xx+sum[k].Transport, "%s failures", k)
	}
	f.requireServes("v2", "green")
	f.requireStill("green")
}

// TestStageAbortLeavesNginxAndTheLiveColor: abort removes the staged color
// and nothing else; the include is the same bytes.
func TestStageAbortLeavesNginxAndTheLiveColor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	before := f.include()
	staged := f.deploy(map[string]string{"mode": "stage"}, "VERSION=v2")
	require.Equal(t, 0, staged.code, staged.out)
	require.Len(t, f.running("green"), 1)
	r := f.deploy(map[string]string{"mode": "abort", "deploy-id": staged.outputs["deploy-id"]})
	require.Equal(t, 0, r.code, r.out)
	require.Empty(t, f.all("green"), "the staged color is gone")
	require.Equal(t, before, f.include(), "the include is untouched")
	f.requireServes("v1", "blue")
	f.requireStill("blue")
}

// TestPromoteRefusesAStaleDeployID: a promote approved for a stage that a
// later stage replaced refuses, naming both, and changes nothing.
func TestPromoteRefusesAStaleDeployID(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	first := f.deploy(map[string]string{"mode": "stage"}, "VERSION=v2")
	require.Equal(t, 0, first.code, first.out)
	second := f.deploy(map[string]string{"mode": "stage"}, "VERSION=v3")
	require.Equal(t, 0, second.code, second.out)
	before := f.include()

	r := f.deploy(map[string]string{"mode": "promote", "deploy-id": first.outputs["deploy-id"]})
	require.Equal(t, 1, r.code, r.out)
	require.ErrorIs(t, r.result.Err, deploy.ErrStagedMismatch)
	require.Contains(t, r.out, second.outputs["deploy-id"])
	require.Contains(t, r.out, first.outputs["deploy-id"])
	require.Equal(t, before, f.include())
	f.requireServes("v1", "blue")
	require.Len(t, f.running("green"), 1, "the newer stage is left as it was")
}

// TestRollbackToAnOlderDeploy: v1, v2, v3, then rollback to v1's deploy
// id redeploys v1's image (by id, no registry) and serves it.
func TestRollbackToAnOlderDeploy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ids := map[string]string{}
	for _, v := range []string{"v1", "v2", "v3"} {
		r := f.deploy(map[string]string{"keep-previous": "true"}, "VERSION="+v)
		require.Equal(t, 0, r.code, r.out)
		ids[v] = r.outputs["deploy-id"]
	}
	f.requireServes("v3", "blue")
	r := f.deploy(map[string]string{"mode": "rollback", "to": ids["v1"]}, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	require.Equal(t, "true", r.outputs["rolled-back"])
	f.requireServes("v1", "green")

	h := f.deploy(map[string]string{"mode": "history"})
	require.Equal(t, 0, h.code, h.out)
	require.Contains(t, h.outputs["history"], ids["v1"])
	require.Contains(t, h.outputs["history"], `"rollback_to":"`+ids["v1"]+`"`)
}

// TestDefaultInputsHealthPhaseIsFast: with the default health inputs an
// app ready 1 s after it starts passes its health check within 1.3 s of
// being started (probes every health-start-interval until then).
func TestDefaultInputsHealthPhaseIsFast(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	delete(f.inputs, "health-interval")
	delete(f.inputs, "health-retries")
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	r := f.deploy(nil, "VERSION=v2", "READY_AFTER=1s")
	require.Equal(t, 0, r.code, r.out)
	for _, p := range r.result.Phases {
		if p.Kind == deploy.PhaseHealth {
			t.Logf("health phase with default inputs: %s (%d probes)", p.Duration, r.result.HealthAttempts)
			require.Less(t, p.Duration, 1300*time.Millisecond)
			return
		}
	}
	t.Fatal("no health phase")
}

// requireHistoryValid reads the fixture's history file: every line is a
// whole JSON entry.
func (f *fixture) requireHistoryValid() []ledger.Entry {
	f.t.Helper()
	l, err := ledger.New(f.stateDir, f.project, 0)
	require.NoError(f.t, err)
	entries, skipped, err := l.Entries()
	require.NoError(f.t, err)
	require.Zero(f.t, skipped, "every line of the history is a whole entry")
	return entries
}

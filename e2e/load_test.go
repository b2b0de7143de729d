//go:build e2e

package e2e

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/loadgen"
)

// loadDeploys is how many consecutive deploys the load test runs.
const loadDeploys = 20

// TestZeroDowntimeUnderLoad sends keep-alive GETs, new-connection GETs,
// POSTs with a body and 1.5 s slow requests through nginx while 20
// consecutive deploys alternate colors. The app exits at once on SIGTERM,
// as many frameworks do by default, so a color stopped before nginx has
// stopped using it would show as failed requests.
func TestZeroDowntimeUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	f := newFixture(t, nil)
	r := f.deploy(nil, "VERSION=v0")
	require.Equal(t, 0, r.code, r.out)

	switches := []loadgen.Switch{{Version: "v0", Began: r.result.Started}}
	gen := startLoad(t, loadgen.Config{BaseURL: f.nginx.URL(""), MaxRequests: 100_000})
	time.Sleep(500 * time.Millisecond)
	var durations []time.Duration
	for i := 1; i <= loadDeploys; i++ {
		v := "v" + strconv.Itoa(i)
		r := f.deploy(nil, "VERSION="+v)
		require.Equal(t, 0, r.code, r.out)
		switches = append(switches, switchOf(t, v, r))
		durations = append(durations, r.took)
	}
	time.Sleep(500 * time.Millisecond)
	records := gen.Stop()

	sum := loadgen.Summary(records)
	t.Logf("%d deploys under load, deploy times %v\n%s", loadDeploys, durations, loadgen.Format(sum))
	if path := os.Getenv("BLUEGREEN_LOAD_REPORT"); path != "" {
		_ = os.WriteFile(path, []byte(loadgen.Format(sum)), 0o644)
	}
	problems := loadgen.Check(records, switches)
	require.Empty(t, problems, "zero-downtime violations")
	for _, k := range []loadgen.Kind{loadgen.KeepAliveGET, loadgen.NewConnGET, loadgen.Slow} {
		require.Zero(t, sum[k].Non2xx+sum[k].Transport, "%s failures", k)
		require.Positive(t, sum[k].OK, "%s sent nothing", k)
	}
	require.Zero(t, sum[loadgen.POST].Non2xx, "POST answered with an error")
	require.Equal(t, sum[loadgen.POST].Transport, sum[loadgen.POST].IdleResets, "every POST failure is the keep-alive race")
	require.GreaterOrEqual(t, sum[loadgen.Slow].OK, loadDeploys/2, "slow requests straddled the switches")
	f.requireServes("v"+strconv.Itoa(loadDeploys), map[bool]string{true: "blue", false: "green"}[loadDeploys%2 == 0])
}

// startLoad starts a load generator that stops when the test ends, however
// it ends: a failed assertion must not leave it sending until MaxRequests.
// Stop may still be called first to collect the records.
func startLoad(t *testing.T, cfg loadgen.Config) *loadgen.Generator {
	t.Helper()
	gen := loadgen.Start(t.Context(), cfg)
	t.Cleanup(func() { gen.Stop() })
	return gen
}

// switchOf turns a deploy's phases into the marks loadgen.Check needs.
func switchOf(t *testing.T, version string, r run) loadgen.Switch {
	t.Helper()
	require.NotNil(t, r.result)
	s := loadgen.Switch{Version: version}
	for _, p := range r.result.Phases {
		switch p.Kind {
		case deploy.PhaseSwitch:
			s.Began = p.Start
		case deploy.PhaseDrain:
			s.Drained = p.Start.Add(p.Duration)
		}
	}
	require.False(t, s.Began.IsZero(), "no switch phase in %v", r.result.Phases)
	return s
}

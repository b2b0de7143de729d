//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	gen := loadgen.Start(context.Background(), loadgen.Config{BaseURL: f.nginx.URL(""), MaxRequests: 100_000})
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

// switchOf turns a deploy's phases into the marks loadgen.Check needs.
func switchOf(t *testing.T, version string, r run) loadgen.Switch {
	t.Helper()
	require.NotNil(t, r.result)
	s := loadgen.Switch{Version: version}
	for _, p := range r.result.Phases {
		switch {
		case len(p.Name) >= 6 && p.Name[:6] == "Switch":
			s.Began = p.Start
		case len(p.Name) >= 5 && p.Name[:5] == "Drain":
			s.Drained = p.Start.Add(p.Duration)
		}
	}
	require.False(t, s.Began.IsZero(), fmt.Sprintf("no switch phase in %v", r.result.Phases))
	return s
}

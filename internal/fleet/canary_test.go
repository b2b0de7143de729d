package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// canaryRun rolls newImage out on three hosts with fleet-canary 1 and a
// fake clock; onStatus runs at each status run after h1 deployed.
func canaryRun(t *testing.T, opts Options, onStatus func(fh *fakeHost)) (*Outcome, *fakeDriver) {
	t.Helper()
	hosts := threeOnBlue()
	drv := newFake(newImage, hosts)
	drv.onRun = func(h Host, mode config.Mode) {
		if mode == config.ModeStatus && h.Name == "h1" && onStatus != nil {
			drv.mu.Lock()
			if fh := hosts["h1"]; fh.image == newImage {
				onStatus(fh)
			}
			drv.mu.Unlock()
		}
	}
	opts.Image, opts.Report, opts.clock = newImage, quiet(), fakeClock()
	opts.CanaryHosts, opts.CanaryHold = 1, time.Minute
	if opts.Failure == "" {
		opts.Failure = config.FleetRollback
	}
	return Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, opts), drv
}

// TestFleetCanary: fleet-canary 1 deploys the first host alone, holds it,
// reads it again, then deploys the others.
func TestFleetCanary(t *testing.T) {
	t.Parallel()
	out, drv := canaryRun(t, Options{}, nil)
	require.NoError(t, out.Err)
	require.Equal(t, map[string]Status{"h1": StatusDeployed, "h2": StatusDeployed, "h3": StatusDeployed}, statuses(out))
	events := drv.Events("deploy", "status")
	require.Equal(t, []string{"deploy h1", "status h1", "deploy h2", "deploy h3"}, events[len(events)-4:], "h1 is judged before h2 starts")
}

// TestFleetCanaryFailsTheRollout: a canary host whose version stopped
// serving during the hold fails the rollout like a failed host: it goes
// back, and the others are never started; with fleet-failure stop it
// keeps the new version.
func TestFleetCanaryFailsTheRollout(t *testing.T) {
	t.Parallel()
	crashed := func(fh *fakeHost) { fh.image = "" }
	out, drv := canaryRun(t, Options{}, crashed)
	var fe *Error
	require.ErrorAs(t, out.Err, &fe)
	require.Equal(t, "h1", fe.Host)
	require.Equal(t, "Hold after fleet-canary", fe.Phase)
	require.Contains(t, fe.Cause, "its green has no running container after the fleet-canary hold of 1m0s")
	require.Equal(t, map[string]Status{"h1": StatusRolledBack, "h2": StatusNotStarted, "h3": StatusNotStarted}, statuses(out))
	require.Equal(t, []string{"deploy h1", "rollback h1"}, drv.Events("deploy", "rollback"))

	switched := func(fh *fakeHost) { fh.active = "blue" }
	out, _ = canaryRun(t, Options{Failure: config.FleetStop}, switched)
	require.ErrorAs(t, out.Err, &fe)
	require.Contains(t, fe.Cause, "serves blue instead of green")
	require.Equal(t, map[string]Status{"h1": StatusDeployed, "h2": StatusNotStarted, "h3": StatusNotStarted}, statuses(out))
}

// TestFleetCanaryCancelledDuringTheHold: a cancel during the hold sends
// the canary host back, whatever fleet-failure says.
func TestFleetCanaryCancelledDuringTheHold(t *testing.T) {
	t.Parallel()
	hosts := threeOnBlue()
	drv := newFake(newImage, hosts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	after := make(chan time.Time)
	clk := &clock{now: time.Now, after: func(d time.Duration) <-chan time.Time {
		if d == time.Hour {
			cancel()
			return after // never fires: the cancel ends the hold
		}
		return time.After(d)
	}}
	out := Rollout(ctx, hostsOf("h1", "h2", "h3"), drv, Options{Image: newImage, Report: quiet(), clock: clk, Failure: config.FleetStop, CanaryHosts: 1, CanaryHold: time.Hour})
	var fe *Error
	require.ErrorAs(t, out.Err, &fe)
	require.Equal(t, StepCancel, fe.Step)
	require.Equal(t, map[string]Status{"h1": StatusRolledBack, "h2": StatusNotStarted, "h3": StatusNotStarted}, statuses(out))
}

// TestFleetCanaryEdges: a canary host that cannot be read after the hold
// fails the rollout; fleet-canary as large as the fleet (which config
// refuses) holds nothing.
func TestFleetCanaryEdges(t *testing.T) {
	t.Parallel()
	hosts := threeOnBlue()
	hosts["h1"].statusFailsLater = true
	drv := newFake(newImage, hosts)
	out := Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, Options{Image: newImage, Report: quiet(), clock: fakeClock(),
		Failure: config.FleetRollback, CanaryHosts: 1, CanaryHold: time.Minute, RetryWindow: time.Millisecond})
	var fe *Error
	require.ErrorAs(t, out.Err, &fe)
	require.Equal(t, "h1", fe.Host)
	require.Contains(t, fe.Cause, "could not be read after the fleet-canary hold")
	require.Equal(t, StatusNotStarted, statuses(out)["h2"])

	drv = newFake(newImage, threeOnBlue())
	out = Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, Options{Image: newImage, Report: quiet(), clock: fakeClock(), CanaryHosts: 3, CanaryHold: time.Minute})
	require.NoError(t, out.Err)
	events := drv.Events("deploy", "status")
	require.Equal(t, []string{"deploy h1", "deploy h2", "deploy h3"}, events[len(events)-3:], "no hold when every host would be a canary")
}

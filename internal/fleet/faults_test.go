package fleet

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// faultRun rolls three fake hosts with the fake clock; lose names a host
// whose fleet lock ends when the first run of host at starts.
func faultRun(t *testing.T, hosts map[string]*fakeHost, opts Options, lose, at string) (*Outcome, *fakeDriver, *recorder) {
	t.Helper()
	drv := newFake(newImage, hosts)
	var once sync.Once
	if lose != "" {
		drv.onRun = func(h Host, mode config.Mode) {
			if h.Name == at && mode != config.ModeStatus {
				once.Do(func() { drv.LoseLock(lose) })
			}
		}
	}
	rec := &recorder{}
	opts.Image, opts.Report, opts.clock = newImage, rec, fakeClock()
	out := rollWithin(t, func() *Outcome { return Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, opts) })
	require.Empty(t, out.Refused)
	require.Empty(t, drv.Unlocked(), "no host is touched without its fleet lock")
	require.Zero(t, drv.Held(), "every lock taken is given back")
	return out, drv, rec
}

// TestLostLockIsTakenAgain: a host's fleet lock that ends mid-rollout (its
// daemon restarted) is taken again, through transient errors, before the
// host is touched; the rollout goes on.
func TestLostLockIsTakenAgain(t *testing.T) {
	t.Parallel()
	hosts := threeOnBlue()
	hosts["h3"].lockFails = 0
	drv := newFake(newImage, hosts)
	drv.onRun = func(h Host, mode config.Mode) {
		if h.Name == "h1" && mode == config.ModeDeploy {
			drv.mu.Lock()
			hosts["h3"].lockFails = 2 // its daemon is still coming back
			drv.mu.Unlock()
			drv.LoseLock("h3")
		}
	}
	rec := &recorder{}
	out := rollWithin(t, func() *Outcome {
		return Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, Options{Image: newImage, Report: rec, clock: fakeClock()})
	})
	require.NoError(t, out.Err)
	require.Equal(t, map[string]Status{"h1": ok, "h2": ok, "h3": ok}, statuses(out))
	require.Empty(t, drv.Unlocked())
	ev := drv.Events("lost", "trylock", "deploy")
	require.Equal(t, []string{"trylock h3", "lost h3", "trylock h3", "trylock h3", "trylock h3", "deploy h3"}, filter(ev, "h3"),
		"taken again, through two transient failures, before host 3 is touched")
	require.Contains(t, rec.Lines(), "h3: its fleet lock ended (its helper exited with code 137); taking it again")
	require.Contains(t, rec.Lines(), "h3: fleet lock taken again")
	require.Zero(t, drv.Held())
}

// TestLostLockFailsTheRollout: a lock that cannot be taken again (another
// rollout took it) fails the rollout on that host's account, and that
// host is never touched again.
func TestLostLockFailsTheRollout(t *testing.T) {
	t.Parallel()
	taken := errors.New("another rollout holds it: pid 9, run 78")
	t.Run("before the host started", func(t *testing.T) {
		t.Parallel()
		hosts := threeOnBlue()
		hosts["h1"].block = true
		hosts["h3"].retakeErr = taken
		out, drv, _ := faultRun(t, hosts, Options{}, "h3", "h1")
		require.Equal(t, map[string]Status{"h1": stop, "h2": StatusNotStarted, "h3": StatusNotStarted}, statuses(out))
		var fe *Error
		require.ErrorAs(t, out.Err, &fe)
		require.Equal(t, "h3", fe.Host)
		require.Equal(t, "Fleet lock", fe.Phase)
		require.Contains(t, fe.Cause, "could not be taken again")
		require.Contains(t, fe.Cause, "run 78")
		require.Empty(t, filter(drv.Events("deploy", "rollback", "status"), "h3")[1:], "host 3 is not touched after its state was read")
		require.Contains(t, hostsError(out, "h3"), "Fleet lock: its fleet lock ended")
	})
	t.Run("after the host switched", func(t *testing.T) {
		t.Parallel()
		hosts := threeOnBlue()
		hosts["h2"].block = true
		hosts["h1"].retakeErr = taken
		out, drv, _ := faultRun(t, hosts, Options{}, "h1", "h2")
		require.Equal(t, map[string]Status{"h1": bad, "h2": stop, "h3": StatusNotStarted}, statuses(out))
		require.Equal(t, []string{"deploy h1"}, filter(drv.Events("deploy", "rollback"), "h1"), "host 1 cannot be returned without its lock")
		require.Contains(t, out.Hosts[0].UndoErr.Error(), "could not be taken again")
		var fe *Error
		require.ErrorAs(t, out.Err, &fe)
		require.Equal(t, "h1", fe.Host)
		require.Contains(t, strings.Join(fe.Details, "\n"), "Returning to the previous color FAILED on h1")
	})
	t.Run("with fleet-failure stop the others go on to the end", func(t *testing.T) {
		t.Parallel()
		hosts := threeOnBlue()
		hosts["h3"].retakeErr = taken
		out, drv, _ := faultRun(t, hosts, Options{Failure: config.FleetStop}, "h3", "h2")
		st := statuses(out)
		require.Equal(t, ok, st["h1"])
		require.Equal(t, ok, st["h2"])
		// Not started, or failed while it waited for its lock: either
		// way never touched.
		require.Contains(t, []Status{StatusNotStarted, fail}, st["h3"])
		require.Empty(t, filter(drv.Events("deploy"), "h3"))
		var fe *Error
		require.ErrorAs(t, out.Err, &fe)
		require.Equal(t, "h3", fe.Host)
	})
}

// TestTransientErrorsAreRetried: a run that met a transient error before
// its helper began is made again within the retry window; a status run
// is made again even when it had begun; a deploy that had begun is not.
func TestTransientErrorsAreRetried(t *testing.T) {
	t.Parallel()
	t.Run("runs that had not begun", func(t *testing.T) {
		t.Parallel()
		hosts := threeOnBlue()
		hosts["h2"].transient = map[config.Mode]int{config.ModeStatus: 2, config.ModeDeploy: 2}
		out, drv, rec := faultRun(t, hosts, Options{}, "", "")
		require.NoError(t, out.Err)
		require.Equal(t, []string{"status h2", "status h2", "status h2", "deploy h2", "deploy h2", "deploy h2"}, filter(drv.Events("status", "deploy"), "h2"))
		require.Contains(t, rec.Lines(), "failed to deploy to h2 (2 of 3) (failed to create the helper container: the Docker daemon did not answer: connection refused); trying again for up to 1m0s")
	})
	t.Run("a deploy that had begun is not made again", func(t *testing.T) {
		t.Parallel()
		hosts := threeOnBlue()
		hosts["h2"].lost = true
		out, drv, _ := faultRun(t, hosts, Options{}, "", "")
		require.Equal(t, []string{"deploy h2"}, filter(drv.Events("deploy"), "h2"))
		require.Equal(t, map[string]Status{"h1": back, "h2": back, "h3": StatusNotStarted}, statuses(out))
	})
	t.Run("the window ends", func(t *testing.T) {
		t.Parallel()
		hosts := threeOnBlue()
		hosts["h2"].transient = map[config.Mode]int{config.ModeDeploy: 1000}
		out, drv, _ := faultRun(t, hosts, Options{RetryWindow: 10 * 1e9}, "", "")
		var fe *Error
		require.ErrorAs(t, out.Err, &fe)
		require.Equal(t, "h2", fe.Host)
		require.Contains(t, fe.Cause, "failed to deploy to h2 (2 of 3) after trying for 10s: failed to create the helper container")
		require.Len(t, filter(drv.Events("deploy"), "h2"), 11, "once, then every second for 10s")
		require.Equal(t, map[string]Status{"h1": back, "h2": fail, "h3": StatusNotStarted}, statuses(out))
	})
}

// TestLostRollbackIsNotRunTwice: when the connection to the fleet's own
// rollback of a host drops, that rollback goes on on the host; the
// rollout waits for the host to serve its previous color rather than
// start a second rollback, which could undo the first.
func TestLostRollbackIsNotRunTwice(t *testing.T) {
	t.Parallel()
	t.Run("it finished on the host", func(t *testing.T) {
		t.Parallel()
		hosts := threeOnBlue()
		hosts["h1"].lostRollback = true
		hosts["h2"].failDeploy = true
		out, drv, _ := faultRun(t, hosts, Options{}, "", "")
		require.Equal(t, map[string]Status{"h1": back, "h2": fail, "h3": StatusNotStarted}, statuses(out))
		require.Equal(t, []string{"rollback h1"}, drv.Events("rollback"))
		require.Equal(t, "blue", hosts["h1"].active)
		require.Equal(t, "green", out.Hosts[0].Undo.Previous)
	})
	t.Run("it died with the host's daemon", func(t *testing.T) {
		t.Parallel()
		hosts := threeOnBlue()
		hosts["h1"].lostRollback, hosts["h1"].rollbackDied = true, true
		hosts["h2"].failDeploy = true
		out, drv, _ := faultRun(t, hosts, Options{}, "", "")
		require.Equal(t, map[string]Status{"h1": bad, "h2": fail, "h3": StatusNotStarted}, statuses(out))
		require.Equal(t, []string{"rollback h1"}, drv.Events("rollback"))
		require.Contains(t, out.Hosts[0].UndoErr.Error(), "still does not serve blue after 1m0s")
	})
}

// filter keeps the events about host h.
func filter(events []string, h string) []string {
	var out []string
	for _, e := range events {
		if strings.HasSuffix(e, " "+h) {
			out = append(out, e)
		}
	}
	return out
}

// hostsError is the error hosts-result gives host h.
func hostsError(o *Outcome, h string) string {
	for _, r := range o.Reports() {
		if r.Host == h {
			return r.Error
		}
	}
	return ""
}

package fleet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// TestRunHostLog: one host at a time, each host's run is a log group of
// its own; several at a time, the groups would interleave, so each start
// is a line instead. The line at each host's end says what the mode did.
func TestRunHostLog(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name        string
		mode        config.Mode
		parallel    int
		phase, info string // expected for h1
		notPhase    bool
		end         string
	}{
		{name: "deploy one at a time", mode: config.ModeDeploy, parallel: 1, phase: "Deploy to h1 (1 of 3)", end: "h1: deployed in "},
		{name: "rollback one at a time", mode: config.ModeRollback, parallel: 1, phase: "Roll back h1 (1 of 3)", end: "h1: rolled back in "},
		{name: "deploy three at a time", mode: config.ModeDeploy, parallel: 3, info: "h1: Deploy to started (1 of 3)", notPhase: true, end: "h1: deployed in "},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			drv := newFake(newImage, threeOnBlue())
			var d Driver = drv
			if c.parallel > 1 {
				d = &barrierDriver{fakeDriver: drv, n: c.parallel}
			}
			rec := &recorder{}
			out := rollWithin(t, func() *Outcome {
				return Rollout(context.Background(), hostsOf("h1", "h2", "h3"), d, Options{Image: newImage, Mode: c.mode, MaxParallel: c.parallel, Report: rec, clock: fakeClock()})
			})
			require.NoError(t, out.Err)
			rec.mu.Lock()
			phases, infos := strings.Join(rec.phases, "\n"), strings.Join(rec.infos, "\n")
			rec.mu.Unlock()
			if c.notPhase {
				require.NotContains(t, phases, "h1 (1 of 3)")
			} else {
				require.Contains(t, phases, c.phase)
				require.NotContains(t, infos, "started (1 of 3)")
			}
			if c.info != "" {
				require.Contains(t, infos, c.info)
			}
			require.Contains(t, infos, c.end)
		})
	}
}

// TestHoldGivesUp: a host whose fleet lock is being taken again when the
// rollout is cancelled is never touched, and its report says why it
// failed: it gave up waiting for its lock.
func TestHoldGivesUp(t *testing.T) {
	t.Parallel()
	hosts := threeOnBlue()
	drv := newFake(newImage, hosts)
	drv.onRun = func(h Host, mode config.Mode) {
		if h.Name == "h1" && mode == config.ModeDeploy {
			drv.mu.Lock()
			hosts["h2"].lockFails = 1 // its daemon is coming back
			drv.mu.Unlock()
			drv.LoseLock("h2")
		}
	}
	// A clock whose waits never end: host 2's lock is still being taken
	// again when the rollout is cancelled.
	stuck := &clock{now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }, after: func(time.Duration) <-chan time.Time { return nil }}
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		deadline := time.After(30 * time.Second)
		for !strings.Contains(rec.Lines(), "Deploy to h2 (2 of 3)") {
			select {
			case <-deadline:
				return
			case <-time.After(time.Millisecond):
			}
		}
		cancel()
	}()
	out := rollWithin(t, func() *Outcome {
		return Rollout(ctx, hostsOf("h1", "h2", "h3"), drv, Options{Image: newImage, Report: rec, clock: stuck})
	})
	require.Equal(t, map[string]Status{"h1": StatusRolledBack, "h2": StatusFailed, "h3": StatusNotStarted}, statuses(out), out.Err)
	require.Empty(t, filter(drv.Events("deploy", "rollback"), "h2"))
	require.Contains(t, hostsError(out, "h2"), "Fleet lock: gave up waiting for the fleet lock to be taken again")
	var fe *Error
	require.ErrorAs(t, out.Err, &fe)
	require.Equal(t, "Fleet lock", fe.Phase)
}

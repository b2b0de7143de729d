package fleet

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

const newImage = "app:v2"

// threeOnBlue is a fleet whose three hosts serve blue (image v1); their
// daemon ids sort h3, h1, h2.
func threeOnBlue() map[string]*fakeHost {
	return map[string]*fakeHost{
		"h1": {id: "bbb", active: "blue", image: "app:v1"},
		"h2": {id: "ccc", active: "blue", image: "app:v1"},
		"h3": {id: "aaa", active: "blue", image: "app:v1"},
	}
}

func quiet() *report.Reporter {
	return report.New(&bytes.Buffer{}, func(string) string { return "" })
}

func TestRollout(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		hosts   func(map[string]*fakeHost)
		opts    Options
		want    map[string]Status
		runs    []string // deploy and rollback runs, in order (rollbacks sorted among themselves)
		step    Step     // of the error; "" for success
		errHost string
		invalid bool
		locked  bool // the failed preflight came after the locks were taken
	}{
		{
			name: "all hosts, one after the other",
			want: map[string]Status{"h1": StatusDeployed, "h2": StatusDeployed, "h3": StatusDeployed},
			runs: []string{"deploy h1", "deploy h2", "deploy h3"},
		},
		{
			name:    "host 3 fails: hosts 1 and 2 go back",
			hosts:   func(h map[string]*fakeHost) { h["h3"].failDeploy = true },
			want:    map[string]Status{"h1": StatusRolledBack, "h2": StatusRolledBack, "h3": StatusFailed},
			runs:    []string{"deploy h1", "deploy h2", "deploy h3", "rollback h1", "rollback h2"},
			step:    StepDeploy,
			errHost: "h3",
		},
		{
			name:    "host 2 fails with fleet-failure stop: host 1 keeps the new version, host 3 is not started",
			hosts:   func(h map[string]*fakeHost) { h["h2"].failDeploy = true },
			opts:    Options{Failure: config.FleetStop},
			want:    map[string]Status{"h1": StatusDeployed, "h2": StatusFailed, "h3": StatusNotStarted},
			runs:    []string{"deploy h1", "deploy h2"},
			step:    StepDeploy,
			errHost: "h2",
		},
		{
			name:  "an unreachable host fails the preflight: nothing is locked or touched",
			hosts: func(h map[string]*fakeHost) { h["h2"].unreachable = true },
			want:  map[string]Status{"h1": StatusNotStarted, "h2": StatusNotStarted, "h3": StatusNotStarted},
			step:  StepPreflight,
		},
		{
			name:    "an invalid input on a host fails the preflight as invalid",
			hosts:   func(h map[string]*fakeHost) { h["h1"].invalid = true },
			want:    map[string]Status{"h1": StatusNotStarted, "h2": StatusNotStarted, "h3": StatusNotStarted},
			step:    StepPreflight,
			invalid: true,
			locked:  true,
		},
		{
			name:    "a lock that cannot be taken: nothing is touched",
			hosts:   func(h map[string]*fakeHost) { h["h2"].lockErr = errors.New("timed out waiting for the fleet lock") },
			want:    map[string]Status{"h1": StatusNotStarted, "h2": StatusNotStarted, "h3": StatusNotStarted},
			step:    StepLock,
			errHost: "h2",
		},
		{
			name: "a host already on the image is skipped (a re-run resumes)",
			hosts: func(h map[string]*fakeHost) {
				h["h1"].active, h["h1"].image = "green", newImage
			},
			want: map[string]Status{"h1": StatusSkipped, "h2": StatusDeployed, "h3": StatusDeployed},
			runs: []string{"deploy h2", "deploy h3"},
		},
		{
			name: "a skipped host is not rolled back when a later host fails",
			hosts: func(h map[string]*fakeHost) {
				h["h1"].active, h["h1"].image = "green", newImage
				h["h3"].failDeploy = true
			},
			want:    map[string]Status{"h1": StatusSkipped, "h2": StatusRolledBack, "h3": StatusFailed},
			runs:    []string{"deploy h2", "deploy h3", "rollback h2"},
			step:    StepDeploy,
			errHost: "h3",
		},
		{
			name: "first deploy: a host with no previous color keeps the new one",
			hosts: func(h map[string]*fakeHost) {
				for _, fh := range h {
					fh.active, fh.image = "", ""
				}
				h["h2"].failDeploy = true
			},
			want:    map[string]Status{"h1": StatusDeployed, "h2": StatusFailed, "h3": StatusNotStarted},
			runs:    []string{"deploy h1", "deploy h2"},
			step:    StepDeploy,
			errHost: "h2",
		},
		{
			name: "no result came back from a switched host: its status says so and it goes back",
			hosts: func(h map[string]*fakeHost) {
				h["h2"].lost = true
			},
			want:    map[string]Status{"h1": StatusRolledBack, "h2": StatusRolledBack, "h3": StatusNotStarted},
			runs:    []string{"deploy h1", "deploy h2", "rollback h1", "rollback h2"},
			step:    StepDeploy,
			errHost: "h2",
		},
		{
			name: "a rollback that fails is reported",
			hosts: func(h map[string]*fakeHost) {
				h["h1"].failRollback = true
				h["h2"].failDeploy = true
			},
			want:    map[string]Status{"h1": StatusUndoFailed, "h2": StatusFailed, "h3": StatusNotStarted},
			runs:    []string{"deploy h1", "deploy h2", "rollback h1"},
			step:    StepDeploy,
			errHost: "h2",
		},
		{
			name:  "mode rollback rolls every host back and stops at the first failure",
			hosts: func(h map[string]*fakeHost) { h["h2"].failRollback = true },
			opts:  Options{Mode: config.ModeRollback},
			want:  map[string]Status{"h1": StatusDeployed, "h2": StatusFailed, "h3": StatusNotStarted},
			runs:  []string{"rollback h1", "rollback h2"},
			step:  StepDeploy, errHost: "h2",
		},
		{
			name: "mode status touches nothing and takes no lock",
			opts: Options{Mode: config.ModeStatus},
			want: map[string]Status{"h1": StatusLive, "h2": StatusLive, "h3": StatusLive},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			hosts := threeOnBlue()
			if c.hosts != nil {
				c.hosts(hosts)
			}
			drv := newFake(newImage, hosts)
			opts := c.opts
			opts.Image, opts.Report = newImage, quiet()
			if opts.Failure == "" {
				opts.Failure = config.FleetRollback
			}
			out := Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, opts)
			require.Equal(t, c.want, statuses(out))
			runs := drv.Events("deploy", "rollback")
			// Rollbacks run at once: their order among themselves is free.
			var deploys, rollbacks []string
			for _, r := range runs {
				if len(r) > 8 && r[:8] == "rollback" && opts.Mode != config.ModeRollback {
					rollbacks = append(rollbacks, r)
				} else {
					deploys = append(deploys, r)
				}
			}
			require.Equal(t, c.runs, append(deploys, sorted(rollbacks)...))
			if c.step == "" {
				require.NoError(t, out.Err)
			} else {
				var fe *Error
				require.ErrorAs(t, out.Err, &fe)
				require.Equal(t, c.step, fe.Step, out.Err.Error())
				require.Equal(t, c.errHost, fe.Host)
				require.Equal(t, c.invalid, fe.Invalid)
			}
			switch c.step {
			case StepPreflight:
				require.Empty(t, drv.Events("deploy", "rollback"), "nothing is run after a failed preflight")
				if !c.locked {
					require.Empty(t, drv.Events("lock", "trylock"), "an unreachable host fails the fleet before any lock")
				}
			case StepLock:
				require.Empty(t, drv.Events("deploy", "rollback", "status"))
			}
			if opts.Mode == config.ModeStatus {
				require.Empty(t, drv.Events("lock", "trylock"))
			}
			require.Zero(t, drv.Held(), "every lock taken is given back")
		})
	}
}

// TestLockOrder: with no other rollout about, every host's fleet lock is
// taken at once without waiting; when one is busy, all are given back and
// taken one by one, waiting, in the order of the daemons' ids, whatever
// order the hosts input gives. Either way before any host is read or
// touched, and given back at the end.
func TestLockOrder(t *testing.T) {
	t.Parallel()
	t.Run("uncontended: all at once", func(t *testing.T) {
		t.Parallel()
		drv := newFake(newImage, threeOnBlue())
		out := Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, Options{Image: newImage, Report: quiet()})
		require.NoError(t, out.Err)
		ev := drv.Events("trylock", "lock", "status")
		require.Equal(t, []string{"trylock h1", "trylock h2", "trylock h3"}, sorted(ev[:3]))
		require.Empty(t, drv.Events("lock"))
		require.Zero(t, drv.Held())
	})
	for _, order := range [][]string{{"h1", "h2", "h3"}, {"h3", "h2", "h1"}, {"h2", "h3", "h1"}} {
		t.Run("busy: in daemon-id order from "+order[0], func(t *testing.T) {
			t.Parallel()
			hosts := threeOnBlue()
			hosts["h1"].busyOnce = true
			drv := newFake(newImage, hosts)
			out := Rollout(context.Background(), hostsOf(order...), drv, Options{Image: newImage, Report: quiet()})
			require.NoError(t, out.Err)
			ev := drv.Events("lock", "status", "deploy", "release")
			// The others' try-locks were given back first.
			for ev[0] != "lock h3" {
				require.Contains(t, ev[0], "release")
				ev = ev[1:]
			}
			require.Equal(t, []string{"lock h3", "lock h1", "lock h2"}, ev[:3], "ids aaa < bbb < ccc")
			require.Equal(t, []string{"release h2", "release h1", "release h3"}, ev[len(ev)-3:])
			for _, e := range ev[3:6] {
				require.Contains(t, e, "status", "each host's state is read once its lock is held")
			}
			require.Zero(t, drv.Held())
		})
	}
}

// TestSameDaemonTwice: two entries that reach the same daemon are refused
// before anything is locked.
func TestSameDaemonTwice(t *testing.T) {
	t.Parallel()
	hosts := threeOnBlue()
	hosts["h2"].id = hosts["h1"].id
	drv := newFake(newImage, hosts)
	out := Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, Options{Report: quiet()})
	var fe *Error
	require.ErrorAs(t, out.Err, &fe)
	require.Equal(t, StepPreflight, fe.Step)
	require.Contains(t, fe.Error(), "h1 and h2 are the same Docker daemon")
	require.Empty(t, drv.Events("lock", "trylock"))
}

// TestCancel: cancelling the rollout in the middle stops the host that is
// deploying, starts no other and returns the switched hosts, whatever
// fleet-failure says.
func TestCancel(t *testing.T) {
	t.Parallel()
	for _, policy := range []config.FleetFailure{config.FleetRollback, config.FleetStop} {
		hosts := threeOnBlue()
		hosts["h2"].block = true
		drv := newFake(newImage, hosts)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-drv.started
			cancel()
		}()
		out := Rollout(ctx, hostsOf("h1", "h2", "h3"), drv, Options{Image: newImage, Failure: policy, Report: quiet()})
		require.Equal(t, map[string]Status{"h1": StatusRolledBack, "h2": StatusStopped, "h3": StatusNotStarted}, statuses(out), policy)
		var fe *Error
		require.ErrorAs(t, out.Err, &fe)
		require.Equal(t, StepCancel, fe.Step)
		require.Equal(t, []string{"deploy h1", "deploy h2", "rollback h1"}, drv.Events("deploy", "rollback"))
		require.Equal(t, "blue", hosts["h1"].active)
		require.Len(t, drv.Events("release"), 3, "the locks are given back after the rollback")
	}
}

// TestParallel: with max-parallel 3 every host deploys at once; when one
// fails the others are stopped, and the ones that had switched go back.
func TestParallel(t *testing.T) {
	t.Parallel()
	t.Run("all at once", func(t *testing.T) {
		t.Parallel()
		drv := newFake(newImage, threeOnBlue())
		// Each deploy waits for the others to have started: run one
		// after the other, they would fail.
		out := Rollout(context.Background(), hostsOf("h1", "h2", "h3"), &barrierDriver{fakeDriver: drv, n: 3}, Options{Image: newImage, MaxParallel: 3, Report: quiet()})
		require.NoError(t, out.Err)
		require.Equal(t, map[string]Status{"h1": StatusDeployed, "h2": StatusDeployed, "h3": StatusDeployed}, statuses(out))
	})
	t.Run("one fails", func(t *testing.T) {
		t.Parallel()
		hosts := threeOnBlue()
		hosts["h1"].blockAfterSwitch = true // switched, still draining
		hosts["h2"].block = true            // still in its health check
		hosts["h3"].failDeploy = true
		drv := newFake(newImage, hosts)
		out := Rollout(context.Background(), hostsOf("h1", "h2", "h3"), &barrierDriver{fakeDriver: drv, n: 3}, Options{Image: newImage, MaxParallel: 3, Report: quiet()})
		require.Equal(t, map[string]Status{"h1": StatusRolledBack, "h2": StatusStopped, "h3": StatusFailed}, statuses(out))
		var fe *Error
		require.ErrorAs(t, out.Err, &fe)
		require.Equal(t, "h3", fe.Host)
		require.Contains(t, fe.Details[0], "On h3: Removed the new color")
		require.Contains(t, fe.Details[1], "Returned to their previous color: h1 (green → blue)")
	})
}

// barrierDriver holds each deploy until n deploys have started, so a test
// sees them run at the same time.
type barrierDriver struct {
	*fakeDriver
	n       int
	arrived chan struct{}
}

func (b *barrierDriver) Run(ctx context.Context, h Host, mode config.Mode, jobs deploy.Jobs) (HostResult, error) {
	if mode == config.ModeDeploy {
		// A compose file without jobs: they settle after the preflight,
		// and the first host's lets the others start.
		if jobs.Settled != nil {
			jobs.Settled()
		}
		b.fakeDriver.mu.Lock()
		if b.arrived == nil {
			b.arrived = make(chan struct{}, b.n)
		}
		ch := b.arrived
		b.fakeDriver.mu.Unlock()
		ch <- struct{}{}
		deadline := time.After(5 * time.Second)
		for len(ch) < b.n {
			select {
			case <-deadline:
				return HostResult{}, errors.New("the other deploys never started")
			case <-time.After(time.Millisecond):
			}
		}
	}
	return b.fakeDriver.Run(ctx, h, mode, jobs)
}

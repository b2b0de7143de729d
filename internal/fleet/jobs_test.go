package fleet

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// describeJobs says what a run was told to do with the jobs.
func describeJobs(h Host, mode config.Mode, jobs deploy.Jobs) string {
	what := string(mode) + " " + h.Name
	switch {
	case jobs.Skip && jobs.Settled != nil:
		return what + ": skips the jobs and reports them settled (a contradiction)"
	case jobs.Skip && jobs.RanOn != "":
		return what + ": skips the jobs, which ran on " + jobs.RanOn
	case jobs.Skip:
		return what + ": skips the jobs"
	case jobs.RanOn != "":
		return what + ": runs the jobs, yet is told they ran on " + jobs.RanOn
	case jobs.Settled != nil:
		return what + ": runs the jobs, reporting when they settle"
	}
	return what + ": runs the jobs as on one host"
}

func (f *fakeDriver) Jobs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.jobs))
}

// TestJobsRunOnTheFirstHostBeforeTheOthersStart: with three hosts at
// once, the first host runs the jobs and the other two start only once
// they have settled, then while the first host's deploy goes on; they
// leave the jobs out, told where they ran.
func TestJobsRunOnTheFirstHostBeforeTheOthersStart(t *testing.T) {
	t.Parallel()
	hosts := threeOnBlue()
	drv := newFake(newImage, hosts)
	var mu sync.Mutex
	others := 0
	othersStarted := make(chan struct{})
	drv.onRun = func(h Host, mode config.Mode) {
		mu.Lock()
		defer mu.Unlock()
		if mode == config.ModeDeploy && h.Name != "h1" {
			if others++; others == 2 {
				close(othersStarted)
			}
		}
	}
	hosts["h1"].afterJobs = func(context.Context) {
		select {
		case <-othersStarted:
		case <-time.After(blockFor):
			t.Error("h2 and h3 did not start while h1's deploy went on after its jobs settled")
		}
	}
	out := rollWithin(t, func() *Outcome {
		return Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, Options{Image: newImage, MaxParallel: 3, Report: &recorder{}})
	})
	require.NoError(t, out.Err)
	events := drv.Events("deploy", "settle")
	require.Equal(t, []string{"deploy h1", "settle h1"}, events[:2], "h1's jobs settled before any other host started")
	require.ElementsMatch(t, []string{"deploy h2", "deploy h3"}, events[2:])
	require.Equal(t, []string{
		"deploy h1: runs the jobs, reporting when they settle",
		"deploy h2: skips the jobs, which ran on h1",
		"deploy h3: skips the jobs, which ran on h1",
	}, drv.Jobs())
	require.Equal(t, map[string]Status{"h1": StatusDeployed, "h2": StatusDeployed, "h3": StatusDeployed}, statuses(out))
}

// TestJobsFailedJobStartsNoOtherHost: a job that fails on the first host
// fails the rollout before any host is switched, naming the job, its exit
// code and the host; no other host starts, whatever max-parallel,
// fleet-failure or fleet-canary say.
func TestJobsFailedJobStartsNoOtherHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"one at a time", Options{}},
		{"three at once", Options{MaxParallel: 3}},
		{"three at once, fleet-failure stop", Options{MaxParallel: 3, Failure: config.FleetStop}},
		{"a canary wave of two", Options{MaxParallel: 3, CanaryHosts: 2, CanaryHold: time.Second, clock: fakeClock()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hosts := threeOnBlue()
			hosts["h1"].jobFails = true
			drv := newFake(newImage, hosts)
			opts := tc.opts
			opts.Image, opts.Report = newImage, &recorder{}
			out := rollWithin(t, func() *Outcome { return Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, opts) })
			var fe *Error
			require.True(t, errors.As(out.Err, &fe), "%v", out.Err)
			require.Equal(t, "h1", fe.Host)
			require.Equal(t, "h1 failed in Start green (app-green): job failed: service migrate exited with code 1", fe.Error())
			require.Contains(t, fe.Details, "Not started: h2, h3.")
			require.Equal(t, map[string]Status{"h1": StatusFailed, "h2": StatusNotStarted, "h3": StatusNotStarted}, statuses(out))
			require.Equal(t, []string{"deploy h1"}, drv.Events("deploy", "stage", "rollback"), "no other host started, none was returned")
		})
	}
}

// TestJobsByMode: deploy and stage run the jobs on the first host that
// starts (a host already on the image is skipped, not counted); a
// rollback, the user's or the fleet's return of a switched host, leaves
// them out on every host; promote runs as on one host (it starts no
// color from the files).
func TestJobsByMode(t *testing.T) {
	t.Parallel()
	ranOnH2 := "skips the jobs, which ran on h2"
	rollback := "skips the jobs"
	for _, tc := range []struct {
		name  string
		mode  config.Mode
		hosts func(map[string]*fakeHost)
		want  []string
	}{
		{"deploy, h1 already on the image", config.ModeDeploy, func(h map[string]*fakeHost) { h["h1"].image = newImage }, []string{
			"deploy h2: runs the jobs, reporting when they settle",
			"deploy h3: " + ranOnH2,
		}},
		{"stage", config.ModeStage, nil, []string{
			"stage h1: runs the jobs, reporting when they settle",
			"stage h2: skips the jobs, which ran on h1",
			"stage h3: skips the jobs, which ran on h1",
		}},
		{"rollback", config.ModeRollback, nil, []string{
			"rollback h1: " + rollback,
			"rollback h2: " + rollback,
			"rollback h3: " + rollback,
		}},
		{"promote", config.ModePromote, nil, []string{
			"promote h1: runs the jobs as on one host",
			"promote h2: runs the jobs as on one host",
			"promote h3: runs the jobs as on one host",
		}},
		{"deploy failing on h3: the switched hosts return without jobs", config.ModeDeploy, func(h map[string]*fakeHost) { h["h3"].failDeploy = true }, []string{
			"deploy h1: runs the jobs, reporting when they settle",
			"deploy h2: skips the jobs, which ran on h1",
			"deploy h3: skips the jobs, which ran on h1",
			"rollback h1: " + rollback,
			"rollback h2: " + rollback,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hosts := threeOnBlue()
			if tc.hosts != nil {
				tc.hosts(hosts)
			}
			drv := newFake(newImage, hosts)
			rollWithin(t, func() *Outcome {
				return Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, Options{Mode: tc.mode, Image: newImage, Report: &recorder{}})
			})
			require.Equal(t, tc.want, drv.Jobs())
		})
	}
}

// TestJobsSettledLine: only the line made with the run's token says the
// jobs settled; a result line, or one with another token, does not.
func TestJobsSettledLine(t *testing.T) {
	t.Parallel()
	require.True(t, isJobsSettledLine("tok", JobsSettledLine("tok")))
	require.False(t, isJobsSettledLine("tok", JobsSettledLine("other")))
	require.False(t, isJobsSettledLine("tok", JobsSettledLine("tok")+" "))
	require.False(t, isJobsSettledLine("tok", ResultLine("tok", HostResult{})))
	_, isResult := ParseResultLine("tok", JobsSettledLine("tok"))
	require.False(t, isResult)
}

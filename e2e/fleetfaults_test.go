//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/fleet"
)

// TestFleetFaults rolls deploys across three simulated hosts while their
// daemons and the runner fail under them:
//   - a dockerd killed and restarted while another host deploys: its
//     fleet lock, which died with it, is taken again before that host is
//     touched, and the rollout goes on;
//   - a dockerd killed and restarted under the host that is deploying:
//     the rollout fails naming that host's phase, reads the host again
//     once its daemon is back (no hint about rootless Docker for a daemon
//     that did not answer), and returns the switched host;
//   - the runner killed (SIGKILL) during the fleet's own rollback: the
//     rollbacks that had started finish on their hosts.
//
// Subtests run in order, each from the state the last left. A dockerd
// killed here takes its containers with it and does not start them again
// (Docker 20.10, even with restart: unless-stopped): that host serves
// nothing until it is deployed again, which is the crash's doing.
func TestFleetFaults(t *testing.T) {
	e := newFleetEnv(t, 3)
	ctx := context.Background()
	r := e.deploy(ctx, t, "f1", e.version("f1", nil), map[string]string{"max-parallel": "3"}, nil)
	require.Equal(t, 0, r.code, r.out)
	e.requireServes("f1")

	t.Run("a dockerd restarted mid-rollout: its lock is taken again before its host is touched", func(t *testing.T) {
		// Host 1 takes its time, so that host 3's daemon goes down and
		// comes back while host 1 deploys.
		img := e.version("f2", map[int]string{0: "READY_AFTER=5s\n"})
		log := &syncBuffer{}
		h3 := e.fleet.hosts[2]
		restarted := make(chan time.Time, 1)
		over := make(chan struct{})
		go func() {
			if waitFor(log, "::group::Deploy to "+e.names[0], over) {
				h3.restartDockerd(t, 2*time.Second)
				restarted <- time.Now()
			}
		}()
		// What holds host 3's lock when its deploy starts.
		var lockHelpers []container.Summary
		seen := make(chan struct{})
		go func() {
			defer close(seen)
			if waitFor(log, "::group::Deploy to "+e.names[2], over) {
				lockHelpers, _ = h3.docker.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
					filters.Arg("label", fleet.LabelHelper+"=lock"), filters.Arg("label", fleet.LabelProject+"="+e.project))})
			}
		}()
		r := e.deploy(ctx, t, "f2", img, map[string]string{"health-retries": "600"}, log)
		close(over)
		<-seen
		require.Equal(t, 0, r.code, r.out)
		e.requireServes("f2")
		var at time.Time
		select {
		case at = <-restarted:
		default:
			t.Fatal("host 3's dockerd was not restarted during the rollout")
		}
		require.Contains(t, r.out, e.names[2]+": its fleet lock ended")
		require.Contains(t, r.out, e.names[2]+": fleet lock taken again")
		require.Len(t, lockHelpers, 1, "host 3's fleet lock is held when its deploy starts")
		require.True(t, time.Unix(lockHelpers[0].Created, 0).After(at.Add(-time.Minute)), "by a helper started after the restart")
		require.Equal(t, []fleet.Status{fleet.StatusDeployed, fleet.StatusDeployed, fleet.StatusDeployed}, results(hostsResult(t, r)))
		e.requireNoHelpers()
	})

	t.Run("a dockerd restarted under the deploying host fails the rollout naming the phase", func(t *testing.T) {
		img := e.version("f3", map[int]string{1: "READY_AFTER=10m\n"})
		log := &syncBuffer{}
		h2 := e.fleet.hosts[1]
		over := make(chan struct{})
		restarted := make(chan struct{})
		go func() {
			defer close(restarted)
			for {
				for _, line := range strings.Split(log.String(), "\n") {
					if strings.HasPrefix(line, e.names[1]+" | ") && strings.Contains(line, "probe") {
						h2.restartDockerd(t, 3*time.Second)
						return
					}
				}
				select {
				case <-over:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
		r := e.deploy(ctx, t, "f3", img, map[string]string{"health-retries": "6000"}, log)
		close(over)
		<-restarted
		require.Equal(t, 1, r.code, r.out)
		require.Equal(t, []fleet.Status{fleet.StatusRolledBack, fleet.StatusFailed, fleet.StatusNotStarted}, results(hostsResult(t, r)))
		require.Contains(t, r.out, "lost the deploy helper on "+e.names[1]+" during its phase \"Health check", "the message names the phase")
		require.NotContains(t, r.out, "rootless", "a daemon that did not answer is not blamed on its settings")
		require.NotContains(t, r.out, "Could not tell whether", "host 2 is read again once its daemon is back")
		for _, i := range []int{0, 2} {
			e.requireHostServes(t, i, "f2")
		}
		require.Equal(t, "green", hostsResult(t, r)[1].Active, "host 2 was not switched: its include still names green, whose containers died with its daemon")
		e.requireNoHelpers()
	})

	t.Run("the runner killed during the fleet's own rollback: the rollbacks finish", func(t *testing.T) {
		// Hosts 1 and 2 take 6s to become healthy each time their
		// containers start, so a rollback to them is under way for that
		// long when the runner dies.
		slow := e.version("f4", map[int]string{0: "READY_AFTER=6s\n", 1: "READY_AFTER=6s\n"})
		r := e.deploy(ctx, t, "f4", slow, map[string]string{"max-parallel": "3", "health-retries": "600"}, nil)
		require.Equal(t, 0, r.code, r.out)
		e.requireServes("f4")

		img := e.version("f5", map[int]string{2: "HEALTH_STATUS=500\n"})
		// Host 3 fails after 15s of 500s; the rollbacks' health checks get
		// as long, more than the 6s they need.
		out, killed := e.runAndKill(t, "f5", img, map[string]string{"health-retries": "150"}, func(out string) bool {
			_, undo, ok := strings.Cut(out, "::group::Return the switched hosts to their previous color")
			return ok && strings.Contains(undo, e.names[0]+" | bluegreen: running on the host") && strings.Contains(undo, e.names[1]+" | bluegreen: running on the host")
		})
		require.True(t, killed, "the runner was killed during the rollback:\n%s", out)
		require.NotContains(t, out, "Returned to their previous color", "it was killed before it saw them back:\n%s", out)
		require.Eventually(t, func() bool {
			for _, h := range e.fleet.hosts {
				if _, body, err := h.get("/"); err != nil || !strings.HasPrefix(body, "version=f4 ") {
					return false
				}
			}
			return true
		}, 2*time.Minute, 200*time.Millisecond, "every host serves f4 again though the runner died:\n%s", out)
		e.requireServes("f4")
		e.requireNoHelpers()
	})
}

// requireHostServes checks host i's own nginx answers / with version.
func (e *fleetEnv) requireHostServes(t *testing.T, i int, version string) {
	t.Helper()
	code, body, err := e.fleet.hosts[i].get("/")
	require.NoError(t, err, "host %d", i+1)
	require.Equal(t, 200, code, "host %d: %s", i+1, body)
	require.True(t, strings.HasPrefix(body, "version="+version+" "), "host %d serves %q, not %s", i+1, body, version)
}

// waitFor waits until log holds marker; false once over is closed, or
// after ten minutes.
func waitFor(log *syncBuffer, marker string, over <-chan struct{}) bool {
	deadline := time.After(10 * time.Minute)
	for {
		if strings.Contains(log.String(), marker) {
			return true
		}
		select {
		case <-over:
			return strings.Contains(log.String(), marker)
		case <-deadline:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// runAndKill runs the action's binary as the runner runs it, in a process
// of its own, and kills it with SIGKILL as soon as its output so far
// satisfies when. It returns the output and whether it was killed (false
// when it ended first, or after a five-minute bound).
func (e *fleetEnv) runAndKill(t *testing.T, version, image string, extra map[string]string, when func(out string) bool) (string, bool) {
	t.Helper()
	outFile := filepath.Join(t.TempDir(), "output")
	summaryFile := filepath.Join(t.TempDir(), "summary")
	require.NoError(t, os.WriteFile(outFile, nil, 0o644))
	require.NoError(t, os.WriteFile(summaryFile, nil, 0o644))
	inputs := map[string]string{"image": image}
	for k, v := range extra {
		inputs[k] = v
	}
	cmd := exec.Command(e.bin)
	cmd.Dir = e.dir
	cmd.Env = append(stageEnviron(e.inputs, inputs),
		"GITHUB_ACTIONS=true", "GITHUB_OUTPUT="+outFile, "GITHUB_STEP_SUMMARY="+summaryFile,
		"GITHUB_WORKSPACE="+e.dir, "GITHUB_REPOSITORY=acme/fleet", "GITHUB_RUN_ID=78", "GITHUB_SHA=0123abc",
		"APP_IMAGE="+e.app, "VERSION="+version)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	log := &syncBuffer{}
	var wg sync.WaitGroup
	wg.Add(1)
	killed := false
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			log.Write([]byte(sc.Text() + "\n"))
			t.Log(sc.Text())
			if !killed && when(log.String()) {
				killed = cmd.Process.Signal(syscall.SIGKILL) == nil
			}
		}
	}()
	timer := time.AfterFunc(5*time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	wg.Wait()
	_ = cmd.Wait()
	return log.String(), killed
}

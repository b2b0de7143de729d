//go:build e2e

package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/ledger"
	"github.com/bluegreen-action/bluegreen/internal/lock"
)

// requireSound checks the state every fault must leave: nginx -t passes,
// nginx serves a healthy color (want, when given), exactly one color runs,
// the lock is free, no temp include is left, and the next deploy works.
func (f *fixture) requireSound(want string) {
	f.t.Helper()
	f.requireStill(want)
	r := f.deploy(nil, "VERSION=after")
	require.Equal(f.t, 0, r.code, "the next deploy succeeds:\n%s", r.out)
	f.requireStill(r.outputs["active-color"])
}

func (f *fixture) requireStill(want string) {
	f.t.Helper()
	out, err := exec.Command(f.nginx.TestCmd()[0], f.nginx.TestCmd()[1:]...).CombinedOutput()
	require.NoError(f.t, err, "nginx -t: %s", out)
	code, body, err := f.get("/")
	require.NoError(f.t, err)
	require.Equal(f.t, 200, code, body)
	if want != "" {
		require.Contains(f.t, body, "color="+want)
	}
	runningColors := 0
	for _, c := range []string{"blue", "green"} {
		if len(f.running(c)) > 0 {
			runningColors++
		}
	}
	require.Equal(f.t, 1, runningColors, "exactly one color runs: blue %v, green %v", f.all("blue"), f.all("green"))
	free, err := lock.Free(f.lockDir, f.project)
	require.NoError(f.t, err)
	require.True(f.t, free, "the lock is free")
	temps, _ := filepath.Glob(filepath.Join(filepath.Dir(f.nginx.IncludePath), ".*bluegreen-*"))
	require.Empty(f.t, temps, "no temp include left")
}

// TestFaultHealthNeverPasses: the new color never answers 200.
func TestFaultHealthNeverPasses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	r := f.deploy(map[string]string{"health-retries": "3"}, "VERSION=v2", "HEALTH_STATUS=503")
	r.requireFailedIn(t, deploy.PhaseHealth)
	require.ErrorIs(t, r.result.Err, deploy.ErrUnhealthy)
	require.Contains(t, r.out, "HTTP 503")
	require.Equal(t, "false", r.outputs["rolled-back"])
	f.requireSound("blue")
}

// TestFaultCrashInsideObservation: the new color passes its health check,
// takes traffic, then crashes inside observe-seconds; nginx goes back to
// the old color, which was never stopped.
func TestFaultCrashInsideObservation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	before := f.include()
	r := f.deploy(map[string]string{"observe-seconds": "6"}, "VERSION=v2", "EXIT_AFTER=2s")
	r.requireFailedIn(t, deploy.PhaseObserve)
	require.ErrorIs(t, r.result.Err, deploy.ErrObserve)
	back, ok := r.phase(deploy.PhaseSwitchBack)
	require.True(t, ok, "no switch back in %v", r.result.Phases)
	require.NoError(t, back.Err)
	require.Equal(t, "Switch nginx back to blue", back.Name)
	require.Contains(t, r.out, "exited with code 3")
	require.Equal(t, "true", r.outputs["rolled-back"])
	require.Equal(t, "blue", r.outputs["active-color"])
	require.Equal(t, before, f.include(), "the previous include is back byte for byte")
	f.requireSound("blue")
}

// TestFaultObservationPasses: a healthy new color survives the window.
func TestFaultObservationPasses(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	r := f.deploy(map[string]string{"observe-seconds": "1.5"}, "VERSION=v2")
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "stayed healthy for 1.5s")
	require.Equal(t, "false", r.outputs["rolled-back"])
	f.requireStill("green")
}

// TestFaultPortOpenBeforeHTTP: Docker's proxy accepts on the published port
// before the app listens; only an HTTP answer counts as healthy.
func TestFaultPortOpenBeforeHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	r := f.deploy(nil, "VERSION=v2", "LISTEN_AFTER=3s")
	require.Equal(t, 0, r.code, r.out)
	require.Greater(t, r.result.HealthAttempts, 5, "probes before the app listened did not count")
	require.Contains(t, r.out, "without an HTTP answer", "the port accepted TCP before the app listened")
	f.requireServes("v2", "green")
	f.requireStill("green")
}

// TestFaultMasterRejectsConfig: a config that passes nginx -t but that the
// master rejects at reload (a listen on a port another process holds) is
// caught by the missing worker restart and the old include is restored.
func TestFaultMasterRejectsConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	before := f.include()
	holder, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer holder.Close()
	port := holder.Addr().(*net.TCPAddr).Port
	r := f.deploy(map[string]string{"nginx-include-template": "set $service_url {{.URL}};\nlisten 127.0.0.1:" + strconv.Itoa(port) + ";\n"}, "VERSION=v2")
	r.requireFailedIn(t, deploy.PhaseSwitch)
	require.Contains(t, r.out, "Address already in use")
	require.Equal(t, before, f.include())
	f.requireSound("blue")
}

// TestFaultBadImage: an image that cannot be pulled fails before anything
// else happens, naming the image.
func TestFaultBadImage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	r := f.deploy(map[string]string{"image": "bluegreen-no-such-image:v404"}, "VERSION=v2")
	r.requireFailedIn(t, deploy.PhaseStart)
	require.Contains(t, r.out, "bluegreen-no-such-image:v404")
	f.requireSound("blue")
}

// TestFaultHostPortTaken: the new color's host port is held by another
// process; the deploy fails before the switch.
func TestFaultHostPortTaken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	holder, err := net.Listen("tcp", "0.0.0.0:"+strconv.Itoa(f.greenPort))
	require.NoError(t, err)
	r := f.deploy(nil, "VERSION=v2")
	holder.Close()
	r.requireFailedIn(t, deploy.PhaseStart)
	require.Contains(t, r.out, strconv.Itoa(f.greenPort))
	require.Empty(t, f.all("green"))
	f.requireSound("blue")
}

// TestFaultOldColorDead: the live color died before the deploy; the deploy
// still goes through and repairs the service.
func TestFaultOldColorDead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	for _, name := range f.running("blue") {
		require.NoError(t, f.docker.ContainerKill(context.Background(), name, "KILL"))
	}
	r := f.deploy(nil, "VERSION=v2")
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "nginx points at blue, but blue has no running container")
	f.requireServes("v2", "green")
	require.Empty(t, f.running("blue"))
	f.requireStill("green")
}

// TestFaultTwoDeploysAtOnce: two deploys started together run one after
// the other under the lock; a third with a short lock-timeout, started
// once one of them is seen holding the lock, gives up naming the holder.
func TestFaultTwoDeploysAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	var wg sync.WaitGroup
	results := make([]run, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// READY_AFTER keeps each holder in its health check for 3 s, so
			// that the lock is held far longer than the third deploy needs
			// to reach it and wait.
			results[i] = f.deploy(map[string]string{"lock-timeout": "2m", "health-retries": "100"},
				"VERSION=v"+strconv.Itoa(i+2), "READY_AFTER=3s", "GITHUB_RUN_ID=run"+strconv.Itoa(i))
		}()
	}
	// The third starts only once the lock is seen held; nothing else takes
	// this fixture's lock. Free takes the lock for an instant itself, which
	// makes a holder retry, never fail: both wait up to 2 minutes.
	require.Eventually(t, func() bool {
		free, err := lock.Free(f.lockDir, f.project)
		return err == nil && !free
	}, 2*time.Minute, 20*time.Millisecond, "neither deploy was seen holding the lock")
	third := f.deploy(map[string]string{"lock-timeout": "200ms"}, "VERSION=v9", "GITHUB_RUN_ID=run9")
	wg.Wait()
	for _, r := range results {
		require.Equal(t, 0, r.code, r.out)
	}
	waited := results[0].out + results[1].out
	require.Contains(t, waited, "another deploy of "+f.project+" is running")

	pe := third.requireFailedIn(t, deploy.PhaseLock)
	require.ErrorIs(t, pe, deploy.ErrLock)
	require.ErrorIs(t, pe, lock.ErrTimeout)
	// The deploys run in this process: the holder's record is this pid and
	// one of the two run ids.
	require.Regexp(t, `timed out waiting for the deploy lock \(200ms\): another deploy of this project holds it: pid `+strconv.Itoa(os.Getpid())+`, run run[01],`, third.out)
	_, started := third.phase(deploy.PhaseFind)
	require.False(t, started, "the third deploy went no further than the lock")

	colors := []string{results[0].outputs["active-color"], results[1].outputs["active-color"]}
	require.ElementsMatch(t, []string{"green", "blue"}, colors, "one went to green, the other back to blue")
	f.requireSound("")
}

// TestFaultIncludeWrittenNotLoaded: the include names a color nginx never
// loaded (a deploy killed between its write and its reload). The next
// deploy notices, reloads nginx to match the healthy color the file names,
// and goes on without stopping the color that really served.
func TestFaultIncludeWrittenNotLoaded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	require.Equal(t, 0, f.deploy(map[string]string{"keep-previous": "true"}, "VERSION=v2").code)
	f.requireServes("v2", "green")
	// Bring blue back and point the file at it, without a reload.
	for _, name := range f.allIDs("blue") {
		require.NoError(t, f.docker.ContainerStart(context.Background(), name, container.StartOptions{}))
	}
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, os.WriteFile(f.nginx.IncludePath, []byte("set $service_url http://127.0.0.1:"+strconv.Itoa(f.bluePort)+";\n"), 0o644))
	f.requireServes("v2", "green") // nginx has not loaded it
	r := f.deploy(nil, "VERSION=v3")
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "nginx has not loaded its include")
	require.Contains(t, r.out, "repaired: nginx now serves blue")
	f.requireServes("v3", "green")
	f.requireStill("green")
}

// TestFaultSIGKILLAtEachPhase kills the deploy binary with SIGKILL as each
// phase begins; every time nginx keeps serving a healthy color, and the
// next deploy repairs what was left and succeeds.
func TestFaultSIGKILLAtEachPhase(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	for _, phase := range []string{"Lock", "Find the live color", "Start", "Health check", "Switch nginx", "Drain", "Stop"} {
		t.Run(strings.ReplaceAll(phase, " ", "_"), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
			f.killAt(bin, phase, "VERSION=v2")
			// nginx serves a healthy color at once, before any repair.
			code, body, err := f.get("/")
			require.NoError(t, err)
			require.Equal(t, 200, code, body)
			r := f.deploy(nil, "VERSION=v3")
			require.Equal(t, 0, r.code, r.out)
			f.requireServes("v3", r.outputs["active-color"])
			f.requireStill(r.outputs["active-color"])
			// The history is whole JSON lines, and the next run appended.
			entries := f.requireHistoryValid()
			require.NotEmpty(t, entries)
			last := entries[len(entries)-1]
			require.Equal(t, r.outputs["deploy-id"], last.DeployID)
			require.Equal(t, ledger.Succeeded, last.Result)
		})
	}
}

// killAt runs the binary and SIGKILLs it as soon as phase's heading
// appears; the test fails if the deploy never reaches the phase.
func (f *fixture) killAt(bin, phase string, env ...string) {
	f.t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = f.dir
	cmd.Env = throwaway.Environ(f.inputs, nil, append([]string{"APP_IMAGE=" + f.image, "BLUEGREEN_LOCK_DIR=" + f.lockDir, "BLUEGREEN_STATE_DIR=" + f.stateDir}, env...)...)
	p := startProc(f.t, "bluegreen", cmd)
	p.waitFor("==> "+phase, 5*time.Minute)
	require.NoError(f.t, cmd.Process.Signal(syscall.SIGKILL))
	p.wait(time.Minute)
}

// allIDs lists the ids of every container of a color.
func (f *fixture) allIDs(color string) []string {
	f.t.Helper()
	var ids []string
	for _, s := range f.all(color) {
		ids = append(ids, strings.Fields(s)[0])
	}
	return ids
}

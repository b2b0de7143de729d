//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/cli"
	"github.com/bluegreen-action/bluegreen/internal/loadgen"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// sharedNginx starts one nginx with two server blocks, one per project,
// each including its own include, and returns the fixture of each
// project. Both use one lock directory, as deploys on one host do.
func sharedNginx(t *testing.T) (a, b *fixture) {
	t.Helper()
	prefix := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(prefix, "conf.d"), 0o755))
	incB := filepath.Join(prefix, "conf.d", "b.inc")
	require.NoError(t, os.WriteFile(incB, []byte("set $service_url http://127.0.0.1:1;\n"), 0o644))
	portB := testenv.FreePort(t)
	second := fmt.Sprintf("    server {\n        listen 127.0.0.1:%d;\n%s    }\n", portB, strings.ReplaceAll(throwaway.SeedServer, "%INCLUDE%", incB))
	n := testenv.StartNginx(t, testenv.NginxOptions{Prefix: prefix, HTTP: second})
	nb := *n // the same nginx, seen through B's server block
	nb.IncludePath, nb.Port = incB, portB
	lockDir := t.TempDir()
	return fixtureOn(t, n, lockDir), fixtureOn(t, &nb, lockDir)
}

// fixtureOn is newFixture on an nginx that is already running.
func fixtureOn(t *testing.T, n *testenv.Nginx, lockDir string) *fixture {
	t.Helper()
	f := &fixture{
		t: t, dir: t.TempDir(), nginx: n, docker: testenv.RequireDocker(t), image: testenv.AppImage(t),
		project:  fmt.Sprintf("bge2e-%d", time.Now().UnixNano()%1_000_000_000),
		bluePort: testenv.FreePort(t), greenPort: testenv.FreePort(t), lockDir: lockDir, stateDir: t.TempDir(),
	}
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "docker-compose.yml"), []byte(singleFile), 0o644))
	f.inputs = map[string]string{
		"project-name": f.project, "blue-port": strconv.Itoa(f.bluePort), "green-port": strconv.Itoa(f.greenPort),
		"health-path": "/health", "health-interval": "100ms", "health-retries": "50", "drain-timeout": "10s",
		"nginx-include-path":   n.IncludePath,
		"nginx-test-command":   strings.Join(n.TestCmd(), " "),
		"nginx-reload-command": strings.Join(n.ReloadCmd(), " "),
	}
	t.Cleanup(f.cleanup)
	return f
}

// startDeploy starts the built binary as a workflow's step would, in its
// own process, with the fixture's lock and state directories.
func (f *fixture) startDeploy(env ...string) *proc {
	f.t.Helper()
	cmd := exec.Command(binary(f.t))
	cmd.Dir = f.dir
	cmd.Env = throwaway.Environ(f.inputs, nil, append([]string{"APP_IMAGE=" + f.image, "BLUEGREEN_LOCK_DIR=" + f.lockDir, "BLUEGREEN_STATE_DIR=" + f.stateDir}, env...)...)
	return startProc(f.t, f.project, cmd)
}

// TestTwoProjectsShareOneNginx: two projects behind one nginx deploy at
// the same moment, three times, under load through both front doors, with
// no failed request: each switch, test and reload holds the host's nginx
// lock, so one project never reloads nginx with the other's include half
// written. Then one project's include is broken by hand, and the other
// project's deploy stops in preflight (exit 2) naming that file and line,
// with its own color still serving.
func TestTwoProjectsShareOneNginx(t *testing.T) {
	t.Parallel()
	a, b := sharedNginx(t)
	for _, f := range []*fixture{a, b} {
		code, out := f.startDeploy("VERSION=v0").wait(5 * time.Minute)
		require.Equal(t, 0, code, out)
	}
	genA := startLoad(t, loadgen.Config{BaseURL: a.nginx.URL(""), MaxRequests: 100_000})
	genB := startLoad(t, loadgen.Config{BaseURL: b.nginx.URL(""), MaxRequests: 100_000})
	time.Sleep(300 * time.Millisecond)
	for i := 1; i <= 3; i++ {
		v := "VERSION=v" + strconv.Itoa(i)
		pa, pb := a.startDeploy(v), b.startDeploy(v)
		codeA, outA := pa.wait(5 * time.Minute)
		codeB, outB := pb.wait(5 * time.Minute)
		require.Equal(t, 0, codeA, outA)
		require.Equal(t, 0, codeB, outB)
	}
	time.Sleep(300 * time.Millisecond)
	for name, gen := range map[string]*loadgen.Generator{"a": genA, "b": genB} {
		sum := loadgen.Summary(gen.Stop())
		t.Logf("project %s under load:\n%s", name, loadgen.Format(sum))
		for _, k := range []loadgen.Kind{loadgen.KeepAliveGET, loadgen.NewConnGET, loadgen.Slow} {
			require.Zero(t, sum[k].Non2xx+sum[k].Transport, "project %s: %s failures", name, k)
			require.Positive(t, sum[k].OK, "project %s: %s sent nothing", name, k)
		}
		require.Zero(t, sum[loadgen.POST].Non2xx, "project %s: POST answered with an error", name)
		require.Equal(t, sum[loadgen.POST].Transport, sum[loadgen.POST].IdleResets, "project %s: every POST failure is the keep-alive race", name)
	}
	a.requireServes("v3", "green")
	b.requireServes("v3", "green")

	// B's include broken by hand: A's deploy must not start anything.
	good, err := os.ReadFile(b.nginx.IncludePath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(b.nginx.IncludePath, []byte("set $service_url;\n"), 0o644))
	code, out := a.startDeploy("VERSION=v4").wait(5 * time.Minute)
	require.Equal(t, cli.ExitInvalid, code, out)
	require.Contains(t, out, b.nginx.IncludePath+":1", "the error names the other project's include and its line")
	require.Contains(t, out, "a file this deploy does not manage")
	require.Empty(t, a.running("blue"), "nothing was started")
	a.requireServes("v3", "green")
	require.NoError(t, os.WriteFile(b.nginx.IncludePath, good, 0o644))
}

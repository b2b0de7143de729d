//go:build e2e

// Package e2e runs whole deploys against the real Docker daemon and a real
// nginx started by the test on a high port. Nothing is faked: containers
// are created from compose files, nginx really reloads, and every check is
// made through nginx's front door. Every file carries the e2e build tag:
// go test -tags e2e ./e2e.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/cli"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// singleFile is a one-file project serving both colors through
// BLUEGREEN_PORT, with the app's behaviour set per deploy: the demo's and
// the benchmarks' project.
const singleFile = throwaway.ComposeFile

// fixture is one project on a private nginx.
type fixture struct {
	t         testing.TB
	dir       string
	project   string
	nginx     *testenv.Nginx
	docker    *client.Client
	image     string
	bluePort  int
	greenPort int
	lockDir   string
	stateDir  string
	inputs    map[string]string
}

func newFixture(t testing.TB, files map[string]string) *fixture {
	t.Helper()
	docker := testenv.RequireDocker(t)
	f := &fixture{
		t:         t,
		dir:       t.TempDir(),
		project:   fmt.Sprintf("bge2e-%d", time.Now().UnixNano()%1_000_000_000),
		docker:    docker,
		image:     testenv.AppImage(t),
		bluePort:  testenv.FreePort(t),
		greenPort: testenv.FreePort(t),
		lockDir:   t.TempDir(),
		stateDir:  t.TempDir(),
	}
	f.nginx = testenv.StartNginx(t, testenv.NginxOptions{})
	if files == nil {
		files = map[string]string{"docker-compose.yml": singleFile}
	}
	for name, content := range files {
		content = strings.NewReplacer("%BLUE_PORT%", strconv.Itoa(f.bluePort), "%GREEN_PORT%", strconv.Itoa(f.greenPort), "%PROJECT%", f.project, "%IMAGE%", f.image).Replace(content)
		require.NoError(t, os.WriteFile(filepath.Join(f.dir, name), []byte(content), 0o644))
	}
	f.inputs = map[string]string{
		"project-name":         f.project,
		"blue-port":            strconv.Itoa(f.bluePort),
		"green-port":           strconv.Itoa(f.greenPort),
		"health-path":          "/health",
		"health-interval":      "100ms",
		"health-retries":       "50",
		"drain-timeout":        "10s",
		"nginx-include-path":   f.nginx.IncludePath,
		"nginx-test-command":   strings.Join(f.nginx.TestCmd(), " "),
		"nginx-reload-command": strings.Join(f.nginx.ReloadCmd(), " "),
	}
	t.Cleanup(f.cleanup)
	return f
}

// cleanup removes every container and network of both colors.
func (f *fixture) cleanup() {
	for _, c := range []string{"blue", "green"} {
		throwaway.RemoveProject(f.docker, f.project+"-"+c)
	}
}

// run is one deploy's outcome.
type run struct {
	code    int
	out     string
	outputs map[string]string
	took    time.Duration
	result  *deploy.Result
}

// deploy runs the action in-process with the fixture's inputs, extra
// inputs and extra environment (for compose interpolation).
func (f *fixture) deploy(extraInputs map[string]string, env ...string) run {
	f.t.Helper()
	outFile := filepath.Join(f.t.TempDir(), "output")
	require.NoError(f.t, os.WriteFile(outFile, nil, 0o644)) // the runner creates it; the action only appends
	environ := throwaway.Environ(f.inputs, extraInputs, append([]string{"APP_IMAGE=" + f.image, "GITHUB_OUTPUT=" + outFile}, env...)...)
	var out bytes.Buffer
	w := io.MultiWriter(&out, testWriter{f.t})
	start := time.Now()
	var res *deploy.Result
	code := cli.Main(context.Background(), cli.Options{Environ: environ, Cwd: f.dir, Stdout: w, LockDir: f.lockDir, StateDir: f.stateDir, OnResult: func(r *deploy.Result) { res = r }})
	return run{code: code, out: out.String(), took: time.Since(start), outputs: readOutputs(f.t, outFile), result: res}
}

// requireFailedIn checks that the deploy failed in a phase of kind: exit
// code 1, a *deploy.PhaseError of that kind in its Result, and that phase
// recorded with its error. It returns the error for further checks.
func (r run) requireFailedIn(t *testing.T, kind deploy.PhaseKind) *deploy.PhaseError {
	t.Helper()
	require.Equal(t, cli.ExitFailed, r.code, r.out)
	require.NotNil(t, r.result, "the deploy handed back no Result:\n%s", r.out)
	var pe *deploy.PhaseError
	require.ErrorAs(t, r.result.Err, &pe, "the deploy failed without a phase error")
	require.Equal(t, kind, pe.Kind, "the deploy failed in %q: %v", pe.Phase, pe.Err)
	recorded := false
	for _, p := range r.result.Phases {
		recorded = recorded || (p.Kind == kind && p.Err != nil)
	}
	require.True(t, recorded, "no %s phase recorded as failed in %v", kind, r.result.Phases)
	// The error is printed once, titled with the phase: plain, or as an
	// ::error:: annotation whose title property is escaped.
	title := "Deploy failed: " + pe.Phase
	annotation := "::error title=" + strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(title) + "::"
	require.True(t, strings.Contains(r.out, "error: "+title+": ") || strings.Contains(r.out, annotation),
		"the printed error is titled %q:\n%s", title, r.out)
	return pe
}

// phase returns the deploy's last phase of kind.
func (r run) phase(kind deploy.PhaseKind) (deploy.Phase, bool) {
	if r.result == nil {
		return deploy.Phase{}, false
	}
	for i := len(r.result.Phases) - 1; i >= 0; i-- {
		if r.result.Phases[i].Kind == kind {
			return r.result.Phases[i], true
		}
	}
	return deploy.Phase{}, false
}

// testWriter sends the deploy's log to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// readOutputs parses a GITHUB_OUTPUT file (name<<delimiter form).
func readOutputs(t testing.TB, path string) map[string]string {
	data, err := os.ReadFile(path)
	if err != nil {
		return map[string]string{}
	}
	out := map[string]string{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			if k, v, ok := strings.Cut(lines[i], "="); ok {
				out[k] = v
			}
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

// get fetches path through nginx's front door on a fresh connection.
func (f *fixture) get(path string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(f.nginx.URL(path))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// requireSettled waits until nginx answers / with body many times in a
// row on fresh connections. After a reload done outside the action (the
// seed's script, a test's setup), nginx's workers from before it still
// accept connections with the old config until the master tells them to
// quit, about 100 ms after it started new ones and later on a busy
// machine; a test that measures failed requests starts only after that.
func (f *fixture) requireSettled(body string) {
	f.t.Helper()
	require.Eventually(f.t, func() bool {
		for i := 0; i < 30; i++ {
			code, got, err := f.get("/")
			if err != nil || code != 200 || got != body {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "nginx settles on %q", body)
}

// requireServes checks nginx answers / with the given version and color.
func (f *fixture) requireServes(version, color string) {
	f.t.Helper()
	code, body, err := f.get("/")
	require.NoError(f.t, err)
	require.Equal(f.t, 200, code, body)
	require.Equal(f.t, fmt.Sprintf("version=%s color=%s", version, color), body)
}

// running lists the running containers of a color's project.
func (f *fixture) running(color string) []string {
	f.t.Helper()
	list, err := f.docker.ContainerList(context.Background(), container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+f.project+"-"+color))})
	require.NoError(f.t, err)
	var names []string
	for _, c := range list {
		names = append(names, strings.TrimPrefix(c.Names[0], "/"))
	}
	return names
}

// all lists every container (any state) of a color's project.
func (f *fixture) all(color string) []string {
	f.t.Helper()
	list, err := f.docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+f.project+"-"+color))})
	require.NoError(f.t, err)
	var names []string
	for _, c := range list {
		names = append(names, strings.TrimPrefix(c.Names[0], "/")+" ("+c.State+")")
	}
	return names
}

func (f *fixture) include() string {
	data, err := os.ReadFile(f.nginx.IncludePath)
	require.NoError(f.t, err)
	return string(data)
}

var buildOnce sync.Once
var builtBinary string
var buildErr error

// binary builds the bluegreen command once per test run.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bluegreen-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBinary = filepath.Join(dir, "bluegreen")
		buildErr = testenv.GoBuild(testenv.RepoRoot(t), ".", builtBinary)
	})
	require.NoError(t, buildErr)
	return builtBinary
}

//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// These tests run nginx in a container, as the users of
// examples/nginx-container do: each starts that example's own
// docker-compose.nginx.yml with the machine's docker-compose, using an
// nginx image imported from the host's Debian nginx (no registry is
// reachable), and deploys the example's own app compose file through it.

// exampleLayout is one directory of examples/nginx-container.
type exampleLayout struct {
	dir      string // host-network or user-network
	include  string // the include's path inside the nginx container
	template string // file in dir holding nginx-include-template; "" for the default
}

var (
	hostNetwork = exampleLayout{dir: "host-network", include: "/etc/nginx/conf.d/service-url.inc"}
	userNetwork = exampleLayout{dir: "user-network", include: "/etc/nginx/conf.d/upstream.inc", template: "upstream.inc.tmpl"}
)

// exampleNginx is the example's nginx container, started by docker-compose.
type exampleNginx struct {
	container   string // its name, for nginx-container
	port        int    // the front door on 127.0.0.1
	includeHost string // the include on the host
	edge        string // the shared user network (user-network layout)
}

// startExampleNginx copies the example's directory, adapts only what a
// test must (the nginx image, a free port instead of 80, a unique network
// name, all through the variables the compose file offers, and the listen
// line for the host network), and brings nginx up with docker-compose.
func startExampleNginx(t *testing.T, layout exampleLayout) *exampleNginx {
	t.Helper()
	docker := testenv.RequireDocker(t)
	if _, err := exec.LookPath("docker-compose"); err != nil && testenv.InCI() {
		t.Fatalf("docker-compose is required in CI: %v", err)
	} else if err != nil {
		t.Skipf("skipping: docker-compose is not installed: %v", err)
	}
	src := filepath.Join(testenv.RepoRoot(t), "examples", "nginx-container", layout.dir)
	dir := filepath.Join(t.TempDir(), layout.dir)
	require.NoError(t, throwaway.CopyDir(src, dir))
	n := &exampleNginx{
		port:        testenv.FreePort(t),
		includeHost: filepath.Join(dir, "nginx", "conf.d", filepath.Base(layout.include)),
		edge:        testenv.UniqueName("bgtest-edge"),
	}
	if layout == hostNetwork {
		conf := filepath.Join(dir, "nginx", "nginx.conf")
		b, err := os.ReadFile(conf)
		require.NoError(t, err)
		require.Contains(t, string(b), "listen 80;")
		b = []byte(strings.Replace(string(b), "listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", n.port), 1))
		require.NoError(t, os.WriteFile(conf, b, 0o644))
	}
	project := testenv.UniqueName("bgtest-nginx")
	compose := func(args ...string) (string, error) {
		cmd := exec.Command("docker-compose", append([]string{"-p", project, "-f", "docker-compose.nginx.yml"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "NGINX_IMAGE="+testenv.NginxImage(t), fmt.Sprintf("NGINX_PORT=127.0.0.1:%d", n.port), "EDGE_NETWORK="+n.edge)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if out, err := compose("down", "--timeout", "1"); err != nil {
			t.Logf("docker-compose down: %v: %s", err, out)
		}
		throwaway.RemoveProject(docker, project)
	})
	out, err := compose("up", "-d")
	require.NoError(t, err, out)

	list, err := docker.ContainerList(context.Background(), container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+project))})
	require.NoError(t, err)
	require.Len(t, list, 1, "the example starts one nginx container")
	n.container = strings.TrimPrefix(list[0].Names[0], "/")

	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/", n.port))
		if err == nil {
			resp.Body.Close()
			if strings.HasPrefix(resp.Header.Get("Server"), "nginx") {
				return n
			}
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", n.container).CombinedOutput()
			t.Fatalf("the example's nginx did not answer within 20s (%v): %s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newContainerFixture is a fixture whose nginx is the example's container
// and whose project is the example's own app compose file.
func newContainerFixture(t *testing.T, layout exampleLayout) (*fixture, *exampleNginx) {
	t.Helper()
	docker := testenv.RequireDocker(t)
	n := startExampleNginx(t, layout)
	root := testenv.RepoRoot(t)
	f := &fixture{
		t:         t,
		dir:       t.TempDir(),
		project:   fmt.Sprintf("bgnc-%d", time.Now().UnixNano()%1_000_000_000),
		docker:    docker,
		image:     testenv.AppImage(t),
		bluePort:  testenv.FreePort(t),
		greenPort: testenv.FreePort(t),
		lockDir:   t.TempDir(),
		// Only the front door and the include are used through this.
		nginx: &testenv.Nginx{Port: n.port, IncludePath: n.includeHost},
	}
	b, err := os.ReadFile(filepath.Join(root, "examples", "nginx-container", layout.dir, "docker-compose.yml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "docker-compose.yml"), b, 0o644))
	f.inputs = map[string]string{
		"project-name":       f.project,
		"image":              f.image,
		"blue-port":          strconv.Itoa(f.bluePort),
		"green-port":         strconv.Itoa(f.greenPort),
		"health-path":        "/health",
		"health-interval":    "100ms",
		"health-retries":     "50",
		"drain-timeout":      "10s",
		"nginx-container":    n.container,
		"nginx-include-path": layout.include,
	}
	if layout.template != "" {
		tmpl, err := os.ReadFile(filepath.Join(root, "examples", "nginx-container", layout.dir, layout.template))
		require.NoError(t, err)
		f.inputs["nginx-include-template"] = string(tmpl)
	}
	t.Cleanup(f.cleanup) // registered after nginx's: the colors leave the shared network first
	return f, n
}

// deployVersion deploys version (the example's compose file serves
// GITHUB_SHA as the app's version) with extra inputs.
func (n *exampleNginx) deployVersion(f *fixture, version string, in map[string]string) run {
	f.t.Helper()
	return f.deploy(in, "GITHUB_SHA="+version, "EDGE_NETWORK="+n.edge)
}

// TestNginxContainerThreeVersions deploys v1, v2, v3 through nginx in a
// container, for both layouts of examples/nginx-container: nginx with
// network_mode host and the seed's include (upstream on a host port), and
// nginx on a user network with an upstream block naming the color's
// container. Each reload is confirmed by the container's own nginx master
// seen in the host's /proc, and each drain waits for its old workers. Then
// a template that breaks nginx -t leaves nginx serving the old color with
// the old include restored byte for byte.
func TestNginxContainerThreeVersions(t *testing.T) {
	t.Parallel()
	for _, layout := range []exampleLayout{hostNetwork, userNetwork} {
		t.Run(layout.dir, func(t *testing.T) {
			t.Parallel()
			f, n := newContainerFixture(t, layout)
			steps := []struct{ version, color, previous string }{
				{"v1", "blue", ""},
				{"v2", "green", "blue"},
				{"v3", "blue", "green"},
			}
			for _, s := range steps {
				r := n.deployVersion(f, s.version, nil)
				require.Equal(t, 0, r.code, r.out)
				f.requireServes(s.version, s.color)
				require.Equal(t, s.color, r.outputs["active-color"])
				require.Equal(t, s.previous, r.outputs["previous-color"])
				require.Len(t, f.running(s.color), 1)
				other := map[string]string{"blue": "green", "green": "blue"}[s.color]
				require.Empty(t, f.running(other), "the old color is stopped")

				include := f.include()
				require.Contains(t, include, "color="+s.color)
				port := map[string]int{"blue": f.bluePort, "green": f.greenPort}[s.color]
				switch layout {
				case hostNetwork:
					require.Contains(t, include, fmt.Sprintf("set $service_url http://127.0.0.1:%d;", port))
				case userNetwork:
					require.Contains(t, include, fmt.Sprintf("server %s-%s-web-1:8080;", f.project, s.color))
				}
				require.Contains(t, r.out, "nginx runs in container "+n.container)
				require.Contains(t, r.out, "started new workers", "the reload is confirmed by the container's master")
				require.NotContains(t, r.out, "unconfirmed")
				require.NotContains(t, r.out, "resolver directive")
				if s.previous != "" {
					require.Contains(t, r.out, "nothing served by "+s.previous+" any more", "the drain saw the old workers go")
				}
				t.Logf("deploy of %s through nginx container %s took %s", s.version, n.container, r.took)
			}

			before := f.include()
			broken := "set $service_url {{.URL}}; this_is_not_a_directive on;"
			if layout == userNetwork {
				broken = "upstream app { server {{.ContainerName}}:{{.ContainerPort}}; this_is_not_a_directive on; }"
			}
			r := n.deployVersion(f, "v4", map[string]string{"nginx-include-template": broken})
			r.requireFailedIn(t, deploy.PhaseSwitch)
			require.Contains(t, r.out, `unknown directive "this_is_not_a_directive"`)
			require.Contains(t, r.out, "docker exec "+n.container+" nginx -t", "the failed command is named")
			require.Equal(t, before, f.include(), "old include restored byte for byte")
			f.requireServes("v3", "blue")
			require.Empty(t, f.running("green"), "the new green is removed; only the kept copy is back, stopped")
			out, err := exec.Command("docker", "exec", n.container, "nginx", "-t").CombinedOutput()
			require.NoError(t, err, "nginx -t passes in the container after the restore: %s", out)
		})
	}
}

// TestNginxContainerUpstreamUnderLoad: GETs through nginx in a container
// on a user network, proxying with the example's upstream block (with
// keepalive connections to the color), while three deploys in a row switch
// colors; the app exits at once on SIGTERM, so a request proxied to the old
// color after it stopped would fail. Not one GET may fail.
func TestNginxContainerUpstreamUnderLoad(t *testing.T) {
	t.Parallel()
	f, n := newContainerFixture(t, userNetwork)
	r := n.deployVersion(f, "v1", nil)
	require.Equal(t, 0, r.code, r.out)

	load := startGetLoad(t, fmt.Sprintf("http://127.0.0.1:%d/", n.port), 4)
	start := time.Now()
	for i, c := range []string{"green", "blue", "green"} {
		version := fmt.Sprintf("v%d", i+2)
		r := n.deployVersion(f, version, nil)
		require.Equal(t, 0, r.code, r.out)
		require.Equal(t, c, r.outputs["active-color"])
		t.Logf("deploy of %s under load took %s", version, r.took)
	}
	time.Sleep(300 * time.Millisecond) // requests sent after the last switch
	res := load.stop()
	t.Logf("GET load through nginx container %s: %d requests in %s, %d non-2xx, %d transport errors; versions seen %v",
		n.container, res.requests, time.Since(start).Round(time.Millisecond), res.non2xx, res.transport, res.versions)
	require.Zero(t, res.non2xx, "non-2xx answers: %v", res.examples)
	require.Zero(t, res.transport, "transport errors: %v", res.examples)
	require.Greater(t, res.requests, 200, "the load ran")
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		require.Contains(t, res.versions, v, "every version served some of the load")
	}
	f.requireServes("v4", "green")
}

// TestNginxContainerSingleFileInclude: an nginx container whose include is
// bind-mounted as a single file is refused before anything starts, with
// the fix, because the deploy's rename would never reach nginx.
func TestNginxContainerSingleFileInclude(t *testing.T) {
	t.Parallel()
	cn := testenv.StartNginxContainer(t, testenv.NginxContainerOptions{SingleFileInclude: true})
	f := newFixture(t, nil)
	before, err := os.ReadFile(cn.IncludeHostPath)
	require.NoError(t, err)
	r := f.deploy(map[string]string{
		"nginx-container":      cn.Name,
		"nginx-include-path":   cn.IncludePath,
		"nginx-test-command":   "nginx -t",
		"nginx-reload-command": "nginx -s reload",
	}, "VERSION=v1")
	require.Equal(t, 2, r.code, r.out)
	require.Contains(t, r.out, "bind-mounted as a single file")
	require.Contains(t, r.out, "mount its directory instead")
	require.Empty(t, f.all("blue"), "nothing was started")
	after, err := os.ReadFile(cn.IncludeHostPath)
	require.NoError(t, err)
	require.Equal(t, string(before), string(after))

	r = f.deploy(map[string]string{"nginx-container": testenv.UniqueName("bgtest-nope"), "nginx-include-path": cn.IncludePath,
		"nginx-test-command": "docker exec x nginx -t"}, "VERSION=v1")
	require.Equal(t, 2, r.code, r.out)
	require.Contains(t, r.out, `leave out the "docker exec …" prefix`)
}

// TestExampleDeployWorkflowsMatch keeps the workflows in the examples
// honest: the user-network one inlines the template the tests deploy, and
// both name the include the example's nginx.conf includes.
func TestExampleDeployWorkflowsMatch(t *testing.T) {
	t.Parallel()
	root := filepath.Join(testenv.RepoRoot(t), "examples", "nginx-container")
	read := func(parts ...string) string {
		b, err := os.ReadFile(filepath.Join(append([]string{root}, parts...)...))
		require.NoError(t, err)
		return string(b)
	}
	for _, layout := range []exampleLayout{hostNetwork, userNetwork} {
		wf := read(layout.dir, "deploy.yml")
		require.Contains(t, wf, "nginx-include-path: "+layout.include)
		require.Contains(t, read(layout.dir, "nginx", "nginx.conf"), "include "+layout.include+";")
		if layout.template != "" {
			for _, line := range strings.Split(strings.TrimSpace(read(layout.dir, layout.template)), "\n") {
				require.Contains(t, wf, line, "deploy.yml inlines %s", layout.template)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(root, "README.md")); errors.Is(err, fs.ErrNotExist) {
		t.Fatal("examples/nginx-container/README.md is missing")
	}
}

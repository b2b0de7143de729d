//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// These tests are a newcomer's first hour, as the README tells it: a host
// the seed's deploy.sh deployed under its own prefix, an app as slow to
// start as Spring Boot on a small instance, an nginx that does not include
// the include, and the marker location's privacy with nginx in a
// container.

// seedScript prepares deploy.sh (e2e/testdata/seed) the way its users
// did: only the variable block at its top changes. It returns the script's
// path in dir and a PATH whose nginx is a wrapper that reaches the
// fixture's private nginx, since the script calls plain `nginx -t` and
// `nginx -s reload`.
func seedScript(t *testing.T, f *fixture, prefix string) (script, path string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "e2e", "testdata", "seed", "deploy.sh"))
	require.NoError(t, err)
	text := string(src)
	for name, value := range map[string]string{
		"CONTAINER_NAME":               `"` + prefix + `"`,
		"CONTAINER_SETUP_DELAY_SECOND": "1",
		"BLUE_SERVER_URL":              fmt.Sprintf(`"http://127.0.0.1:%d"`, f.bluePort),
		"GREEN_SERVER_URL":             fmt.Sprintf(`"http://127.0.0.1:%d"`, f.greenPort),
		"NGINX_SERVICE_URL_FILE":       `"` + f.nginx.IncludePath + `"`,
	} {
		re := regexp.MustCompile(`(?m)^` + name + `=\S+`)
		require.Equal(t, 1, len(re.FindAllString(text, -1)), "deploy.sh sets %s once at its top", name)
		text = re.ReplaceAllLiteralString(text, name+"="+value)
	}
	script = filepath.Join(f.dir, "deploy.sh")
	require.NoError(t, os.WriteFile(script, []byte(text), 0o755))

	bin := filepath.Join(t.TempDir(), "bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s -p %s -c %s \"$@\"\n", f.nginx.Bin, f.nginx.Prefix, f.nginx.Conf)
	require.NoError(t, os.WriteFile(filepath.Join(bin, "nginx"), []byte(wrapper), 0o755))
	return script, bin + string(os.PathListSeparator) + os.Getenv("PATH")
}

// TestFirstRunOnDeployShHost: a host where the seed's deploy.sh deployed
// blue under its own prefix. The first run without project-name stops in
// preflight (exit 2), names `project-name: <prefix>`, and touches nothing:
// the include, nginx and the old container are as deploy.sh left them and
// no container of ours exists. With project-name set, the action adopts
// the host: deploy.sh's blue keeps serving every request until the switch,
// green takes over, and deploy.sh's blue is gone.
func TestFirstRunOnDeployShHost(t *testing.T) {
	t.Parallel()
	dockerComposeV1(t) // deploy.sh runs docker-compose
	f := newFixture(t, nil)
	prefix := f.project + "-old"
	t.Cleanup(func() {
		for _, c := range []string{"blue", "green"} {
			throwaway.RemoveProject(f.docker, prefix+"-"+c)
		}
	})
	for _, c := range []string{"blue", "green"} {
		port := map[string]int{"blue": f.bluePort, "green": f.greenPort}[c]
		file := strings.NewReplacer("%PROJECT%", prefix, "%COLOR%", c, "%IMAGE%", f.image, "%PORT%", itoa(port)).Replace(seedFile)
		require.NoError(t, os.WriteFile(filepath.Join(f.dir, "docker-compose."+c+".yml"), []byte(file), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, ".env"), []byte("SPRING_PROFILES_ACTIVE=prod\n"), 0o644))

	script, path := seedScript(t, f, prefix)
	cmd := exec.Command("bash", script)
	cmd.Dir = f.dir
	cmd.Env = append(composeEnv(), "PATH="+path)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "deploy.sh: %s", out)
	require.Contains(t, string(out), "blue 배포 성공", "deploy.sh deployed blue")
	f.requireServes("seed", "")
	seedInclude := f.include()
	require.Equal(t, fmt.Sprintf("set $service_url http://127.0.0.1:%d;\n", f.bluePort), seedInclude)
	oldBlue := inspect(t, f.docker, prefix+"-blue")

	inputs := map[string]string{
		"blue-compose-file":  "docker-compose.blue.yml",
		"green-compose-file": "docker-compose.green.yml",
		"health-path":        "/api/health",
	}
	delete(f.inputs, "project-name") // as in a workflow that does not set it
	repo := "GITHUB_REPOSITORY=acme/" + f.project

	r := f.deploy(inputs, repo, "VERSION=v2")
	require.Equal(t, 2, r.code, r.out)
	require.Contains(t, r.out, "compose project "+prefix+"-blue (container "+prefix+"-blue) is running on host port "+itoa(f.bluePort)+" (blue-port)")
	require.Contains(t, r.out, "set `project-name: "+prefix+"`")
	require.NotContains(t, r.out, "==> Lock", "it stopped in preflight")
	require.Equal(t, seedInclude, f.include(), "the include is as deploy.sh left it")
	require.Empty(t, f.all("blue"), "no container of %s-blue", f.project)
	require.Empty(t, f.all("green"), "no container of %s-green", f.project)
	again := inspect(t, f.docker, prefix+"-blue")
	require.Equal(t, oldBlue.ID, again.ID)
	require.Equal(t, oldBlue.State.StartedAt, again.State.StartedAt, "deploy.sh's blue was not touched")
	f.requireServes("seed", "")

	inputs["project-name"] = prefix
	f.requireSettled("version=seed color=")
	l := startGetLoop(f.nginx.URL("/"), 4)
	r = f.deploy(inputs, repo, "VERSION=v2")
	time.Sleep(300 * time.Millisecond)
	res := l.stop()
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "live color: blue")
	require.Equal(t, "green", r.outputs["active-color"])
	require.Equal(t, "blue", r.outputs["previous-color"])
	t.Logf("during the adoption: %d requests, %d failed, versions %v", res.sent, len(res.failures), res.versions)
	require.Empty(t, res.failures)
	require.Greater(t, res.versions["version=seed color="], 0, "deploy.sh's blue served until the switch")
	require.Greater(t, res.versions["version=v2 color="], 0, "green served after it")
	f.requireServes("v2", "")
	list, err := f.docker.ContainerList(context.Background(), container.ListOptions{All: true})
	require.NoError(t, err)
	for _, c := range list {
		if c.Names[0] == "/"+prefix+"-blue" {
			require.NotEqual(t, "running", c.State, "deploy.sh's blue is stopped (kept by keep-previous for a rollback)")
		}
	}
	require.Equal(t, "running", inspect(t, f.docker, prefix+"-green").State.Status)
}

// TestSlowStarterDefaultBudget: an app that listens only 35 s after it
// starts, as a Spring Boot app on a small instance does, deploys with the
// default health budget (health-retries 30 × health-interval 2s); the
// seed's deploy.sh allowed about 40 s, the old default of 15 probes 30 s.
func TestSlowStarterDefaultBudget(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	delete(f.inputs, "health-interval")
	delete(f.inputs, "health-retries")
	r := f.deploy(nil, "VERSION=v1", "LISTEN_AFTER=35s")
	require.Equal(t, 0, r.code, r.out)
	require.GreaterOrEqual(t, r.took, 35*time.Second)
	require.Greater(t, r.result.HealthAttempts, 15, "probes went on past the old default's 15")
	f.requireServes("v1", "blue")
}

// TestIncludeNotIncludedStops: nginx's config does not include the include
// anywhere (the server block proxies elsewhere); the deploy stops in
// preflight with exit code 2, says where to include it, and starts
// nothing.
func TestIncludeNotIncludedStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	other := testenv.StartNginx(t, testenv.NginxOptions{Server: "    location / { return 200 \"not the app\\n\"; }\n"})
	f.inputs["nginx-include-path"] = other.IncludePath
	f.inputs["nginx-test-command"] = strings.Join(other.TestCmd(), " ")
	f.inputs["nginx-reload-command"] = strings.Join(other.ReloadCmd(), " ")
	before, err := os.ReadFile(other.IncludePath)
	require.NoError(t, err)

	r := f.deploy(nil, "VERSION=v1")
	require.Equal(t, 2, r.code, r.out)
	require.Contains(t, r.out, "does not include "+other.IncludePath+" anywhere")
	require.Contains(t, r.out, "add `include "+other.IncludePath+";` to the server block")
	require.Empty(t, f.all("blue"))
	after, err := os.ReadFile(other.IncludePath)
	require.NoError(t, err)
	require.Equal(t, string(before), string(after))
}

// TestMarkerPrivateWithNginxInContainer: nginx in a container on a user
// network, publishing its port on the host, with the default include
// (colors reached through the network's gateway). The front-door check
// reaches nginx through the published port, so nginx sees it come from the
// gateway, not 127.0.0.1; the default marker location still answers it,
// and verify-url (which fails the deploy unless confirmed) confirms both
// switches. Another container on the same network gets 403.
func TestMarkerPrivateWithNginxInContainer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	docker := f.docker
	edge := testenv.CreateNetwork(t, "bgtest-edge")
	cn := testenv.StartNginxContainer(t, testenv.NginxContainerOptions{Network: edge})
	info, err := docker.NetworkInspect(context.Background(), edge, network.InspectOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, info.IPAM.Config)
	gateway := info.IPAM.Config[0].Gateway
	require.NotNil(t, net.ParseIP(gateway), "network %s has gateway %q", edge, gateway)

	f.inputs["nginx-container"] = cn.Name
	f.inputs["nginx-include-path"] = cn.IncludePath
	f.inputs["nginx-test-command"] = "nginx -t"
	f.inputs["nginx-reload-command"] = "nginx -s reload"
	f.inputs["upstream-host"] = gateway
	f.inputs["verify-url"] = cn.URL("")
	f.nginx = &testenv.Nginx{Port: cn.Port, IncludePath: cn.IncludeHostPath}

	for _, step := range []struct{ version, color string }{{"v1", "blue"}, {"v2", "green"}} {
		r := f.deploy(nil, "VERSION="+step.version)
		require.Equal(t, 0, r.code, r.out)
		require.Contains(t, r.out, "answers from "+step.color, "verify-url confirmed the switch")
		require.Contains(t, f.include(), "allow "+gateway+";", "the gateway, a host address, may read the marker")
		f.requireServes(step.version, step.color)
	}
	code, body, err := f.get("/.well-known/bluegreen")
	require.NoError(t, err)
	require.Equal(t, 200, code, body)

	// From another container on nginx's network: the app image's
	// healthcheck command GETs a URL and prints a status other than 200.
	probe := testenv.UniqueName("bgtest-probe")
	id := runContainer(t, docker, probe, &container.Config{Image: f.image, Cmd: []string{"healthcheck", "http://" + cn.Name + "/.well-known/bluegreen"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(edge)}, nil)
	require.Eventually(t, func() bool { return !inspect(t, docker, id).State.Running }, 20*time.Second, 100*time.Millisecond)
	logs, err := exec.Command("docker", "logs", id).CombinedOutput()
	require.NoError(t, err)
	require.Equal(t, 1, inspect(t, docker, id).State.ExitCode, "%s", logs)
	require.Contains(t, string(logs), "403 Forbidden")
}

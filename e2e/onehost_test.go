//go:build e2e

package e2e

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// Issue 10: compose files of real projects deploy unchanged. These tests
// deploy what used to be refused: a service built on the host, secrets,
// security_opt and worker replicas, and a traffic service with replicas.

// builtService is a web app that the host builds from a multi-stage
// Dockerfile: the first stage picks the page for VERSION, the second adds
// it to the test app and declares a Docker HEALTHCHECK, and a third
// (TARGET=broken-healthcheck) is a version whose HEALTHCHECK fails.
const builtService = `services:
  web:
    build:
      context: .
      target: ${TARGET:-app}
      args:
        BASE: ${APP_IMAGE}
        VERSION: ${VERSION}
    environment:
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    ports:
      - "${BLUEGREEN_PORT}:8080"
`

const builtDockerfile = `# Stage 1 picks the page of this version; stage 2 is the app with it.
ARG BASE
FROM scratch AS pages
ARG VERSION
COPY pages/${VERSION}.txt /page.txt

FROM ${BASE} AS app
ARG VERSION
ENV VERSION=${VERSION}
COPY --from=pages /page.txt /srv/page.txt
HEALTHCHECK --interval=500ms --timeout=2s --retries=3 CMD ["/app", "healthcheck"]

# A version whose Docker healthcheck fails while its HTTP check passes.
FROM app AS broken-healthcheck
HEALTHCHECK --interval=500ms --timeout=2s --retries=3 CMD ["/app", "healthcheck", "http://127.0.0.1:9/health"]
`

// newBuiltFixture is a fixture with builtService and its build context.
func newBuiltFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, map[string]string{
		"docker-compose.yml": builtService,
		"Dockerfile":         builtDockerfile,
		".dockerignore":      "*.md\n",
		"README.md":          "not in the image",
	})
	require.NoError(t, os.MkdirAll(filepath.Join(f.dir, "pages"), 0o755))
	for v, page := range map[string]string{"v1": "page one", "v2": "page two", "v3": "page three"} {
		require.NoError(t, os.WriteFile(filepath.Join(f.dir, "pages", v+".txt"), []byte(page), 0o644))
	}
	t.Cleanup(func() { removeBuiltImages(f) })
	return f
}

var builtRE = regexp.MustCompile(`built (\S+) \(\w+\) for service web in (\S+) from a (.+?) build context`)

// buildTime reads the build's duration from a deploy's log.
func buildTime(t *testing.T, out string) (string, time.Duration) {
	t.Helper()
	m := builtRE.FindStringSubmatch(out)
	require.NotNil(t, m, "the log does not report a build:\n%s", out)
	d, err := time.ParseDuration(m[2])
	require.NoError(t, err)
	return m[1], d
}

// TestDeployBuiltOnTheHost deploys a service that only has build: twice
// (blue, then green, with keep-previous) and rolls back to blue, which
// comes back with the first build's image.
func TestDeployBuiltOnTheHost(t *testing.T) {
	t.Parallel()
	f := newBuiltFixture(t)

	r := f.deploy(nil, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	first, took := buildTime(t, r.out)
	t.Logf("first build %s took %s (start phase %s)", first, took, phaseTook(r, "Start"))
	require.True(t, strings.HasPrefix(first, f.project+"-blue-web:"+r.result.DeployID), first)
	require.Contains(t, r.out, "--- Build "+first+" (service web)")
	require.Contains(t, r.out, "Step 1/")
	require.Equal(t, first, r.outputs["image"])
	f.requireServes("v1", "blue")

	r = f.deploy(map[string]string{"keep-previous": "true"}, "VERSION=v2")
	require.Equal(t, 0, r.code, r.out)
	second, took := buildTime(t, r.out)
	t.Logf("second build %s took %s (start phase %s)", second, took, phaseTook(r, "Start"))
	require.True(t, strings.HasPrefix(second, f.project+"-green-web:"), second)
	f.requireServes("v2", "green")
	require.Equal(t, "page two", readFile(t, f, "green", "/srv/page.txt"))

	back := f.deploy(map[string]string{"mode": "rollback"})
	require.Equal(t, 0, back.code, back.out)
	f.requireServes("v1", "blue")
	require.Equal(t, first, back.outputs["image"])
	require.Equal(t, "page one", readFile(t, f, "blue", "/srv/page.txt"))
	_, err := f.docker.ImageInspect(context.Background(), first)
	require.NoError(t, err, "the first build's image is kept for the rollback")
}

// TestDeployWaitsForTheImageHealthcheck: the compose file has no
// healthcheck, but the built image has a HEALTHCHECK; a version whose
// HEALTHCHECK fails is not switched to, although its HTTP check passes.
func TestDeployWaitsForTheImageHealthcheck(t *testing.T) {
	t.Parallel()
	f := newBuiltFixture(t)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	r := f.deploy(nil, "VERSION=v3", "TARGET=broken-healthcheck")
	require.Equal(t, 1, r.code, r.out)
	require.Contains(t, r.out, "Docker's healthcheck")
	require.Contains(t, r.out, `"unhealthy"`)
	f.requireServes("v1", "blue")
}

// TestDeploySecretsSecurityOptAndWorkers deploys a web app that reads a
// file secret, runs with security options, and has three workers.
func TestDeploySecretsSecurityOptAndWorkers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{
		"docker-compose.yml": `services:
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    ports:
      - "${BLUEGREEN_PORT}:8080"
    security_opt:
      - no-new-privileges:true
      - seccomp=./seccomp.json
    secrets:
      - db_password
  worker:
    image: ${APP_IMAGE}
    environment:
      MODE: worker
    security_opt: [no-new-privileges:true]
    secrets:
      - source: db_password
        target: /run/secrets/worker-db
    deploy:
      replicas: 3
      placement:
        constraints: [node.role == manager]
      resources:
        reservations:
          cpus: "0.1"
secrets:
  db_password:
    file: ./db_password.txt
`,
		"seccomp.json":    `{"defaultAction": "SCMP_ACT_ALLOW"}`,
		"db_password.txt": "correct horse",
	})
	for i, version := range []string{"v1", "v2"} {
		r := f.deploy(nil, "VERSION="+version)
		require.Equal(t, 0, r.code, r.out)
		c := []string{"blue", "green"}[i]
		f.requireServes(version, c)
		require.Len(t, f.running(c), 4, "web and three workers")
		require.Contains(t, r.out, `service "worker": deploy.placement is ignored`)
		require.Contains(t, r.out, `service "worker": deploy.resources.reservations.cpus is ignored`)
		require.Equal(t, "correct horse", readFile(t, f, c, "/run/secrets/db_password"))
		info := inspectOf(t, f, c, "web-1")
		require.Equal(t, []string{"no-new-privileges:true", `seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`}, info.HostConfig.SecurityOpt)
		for n := 1; n <= 3; n++ {
			w := inspectOf(t, f, c, fmt.Sprintf("worker-%d", n))
			require.True(t, w.State.Running)
			require.Equal(t, strconv.Itoa(n), w.Config.Labels[compose.LabelContainerNumber])
		}
	}
	require.Empty(t, f.running("blue"), "the old color is stopped")
	require.Len(t, f.all("blue"), 4, "and kept for a rollback (keep-previous)")
}

// TestDeployTrafficReplicas: the traffic service runs three replicas, each
// on a port of the color's range; all three are checked and rendered into
// an upstream block, and nginx balances over them.
func TestDeployTrafficReplicas(t *testing.T) {
	t.Parallel()
	blue, green := freeRange(t, 3), freeRange(t, 3)
	file := func(lo int) string {
		return fmt.Sprintf(`services:
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    ports:
      - "127.0.0.1:%d-%d:8080"
    deploy:
      replicas: 3
`, lo, lo+2)
	}
	upstream := filepath.Join(t.TempDir(), "upstream.inc")
	require.NoError(t, os.WriteFile(upstream, []byte("upstream app { server 127.0.0.1:1; }\n"), 0o644))
	f := newFixtureWith(t, map[string]string{"blue.yml": file(blue), "green.yml": file(green)}, testenv.NginxOptions{
		HTTP: "    include " + upstream + ";\n",
		Server: `    location / {
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
`,
	})
	f.inputs["blue-compose-file"] = "blue.yml"
	f.inputs["green-compose-file"] = "green.yml"
	f.inputs["blue-port"] = strconv.Itoa(blue)
	f.inputs["green-port"] = strconv.Itoa(green)
	f.inputs["nginx-include-path"] = upstream
	f.inputs["nginx-include-template"] = nginx.UpstreamTemplate("app")

	for i, version := range []string{"v1", "v2"} {
		r := f.deploy(nil, "VERSION="+version)
		require.Equal(t, 0, r.code, r.out)
		c, lo := []string{"blue", "green"}[i], []int{blue, green}[i]
		require.Len(t, f.running(c), 3)
		inc, err := os.ReadFile(upstream)
		require.NoError(t, err)
		for p := lo; p < lo+3; p++ {
			require.Contains(t, string(inc), fmt.Sprintf("server 127.0.0.1:%d;", p))
			require.Contains(t, r.out, fmt.Sprintf("on http://127.0.0.1:%d", p), "each replica is health-checked")
		}
		for range 6 {
			f.requireServes(version, c)
		}
	}
}

// newFixtureWith is newFixture with a differently configured nginx.
func newFixtureWith(t *testing.T, files map[string]string, opts testenv.NginxOptions) *fixture {
	t.Helper()
	f := newFixture(t, files)
	f.nginx = testenv.StartNginx(t, opts)
	f.inputs["nginx-test-command"] = strings.Join(f.nginx.TestCmd(), " ")
	f.inputs["nginx-reload-command"] = strings.Join(f.nginx.ReloadCmd(), " ")
	return f
}

// freeRange returns the first of n consecutive free TCP ports.
func freeRange(t *testing.T, n int) int {
	t.Helper()
	for attempt := 0; attempt < 200; attempt++ {
		lo := testenv.FreePort(t)
		if lo+n > 32767 && lo < 61000 {
			lo = 20000 + lo%10000 // keep out of the ephemeral range
		}
		var ls []net.Listener
		ok := true
		for p := lo; p < lo+n; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return lo
		}
	}
	t.Fatal("no free port range")
	return 0
}

func phaseTook(r run, prefix string) time.Duration {
	if r.result == nil {
		return 0
	}
	for _, p := range r.result.Phases {
		if strings.HasPrefix(p.Name, prefix) {
			return p.Duration.Round(10 * time.Millisecond)
		}
	}
	return 0
}

// inspectOf inspects container <project>-<color>-<name>.
func inspectOf(t *testing.T, f *fixture, color, name string) container.InspectResponse {
	t.Helper()
	info, err := f.docker.ContainerInspect(context.Background(), f.project+"-"+color+"-"+name)
	require.NoError(t, err)
	return info
}

// readFile reads a file from the color's web container.
func readFile(t *testing.T, f *fixture, color, path string) string {
	t.Helper()
	rc, _, err := f.docker.CopyFromContainer(context.Background(), f.project+"-"+color+"-web-1", path)
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	_, err = tr.Next()
	require.NoError(t, err)
	b, err := io.ReadAll(tr)
	require.NoError(t, err)
	return string(b)
}

// removeBuiltImages removes the images the deploys built, after the
// containers that use them.
func removeBuiltImages(f *fixture) {
	f.cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []string{"blue", "green"} {
		list, err := f.docker.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", compose.LabelProject+"="+f.project+"-"+c))})
		if err != nil {
			continue
		}
		for _, img := range list {
			_, _ = f.docker.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	}
}

// TestDeployRefusesWhatCannotRunOnOneHost: a swarm stack file fails the
// inputs (exit 2) before anything starts, each problem naming the
// service (or saying top-level), the key, why and what to do.
func TestDeployRefusesWhatCannotRunOnOneHost(t *testing.T) {
	t.Parallel()
	stack, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "testdata", "compose", "refused-swarm", "compose.yml"))
	require.NoError(t, err)
	file := strings.Replace(string(stack), "services:\n", "services:\n  web:\n    image: ${APP_IMAGE}\n    ports: [\"${BLUEGREEN_PORT}:8080\"]\n", 1)
	f := newFixture(t, map[string]string{"docker-compose.yml": file})
	r := f.deploy(nil)
	require.Equal(t, 2, r.code, r.out)
	for _, want := range []string{
		`compose-file: service "migrate": deploy.mode: deploy.mode "replicated-job" is not supported: jobs need a swarm`,
		`compose-file: top-level secrets.jwt_key.external: an external secret lives in a swarm's secret store`,
		"(used by service api)",
	} {
		require.Contains(t, r.out, want)
	}
	require.Empty(t, f.all("blue"))
	require.Empty(t, f.all("green"))
}

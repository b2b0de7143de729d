//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// These tests deploy real compose projects, beyond the seed's one service:
// several services ordered by Docker healthchecks, a web app sharing an
// external network with a database outside both colors, and a host that
// ran the seed's deploy.sh until now.

// twoServices is a web app and a worker that may only start once the web
// app is healthy by its Docker healthcheck, which /health only passes 2 s
// after start. The worker keeps its jobs in a named volume.
const twoServices = `services:
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
      READY_AFTER: 2s
    ports:
      - "${BLUEGREEN_PORT}:8080"
    healthcheck:
      test: ["CMD", "/app", "healthcheck"]
      interval: 500ms
      retries: 40
  worker:
    image: ${APP_IMAGE}
    environment:
      MODE: worker
      VERSION: ${VERSION}
    depends_on:
      web:
        condition: service_healthy
    volumes:
      - jobs:/var/lib/jobs
    x-bluegreen: {role: colored}
volumes:
  jobs:
`

// TestTwoServiceColor deploys web + worker twice: each deploy starts the
// worker only after web is healthy, serves the new version, and leaves only
// the new color's two containers. The worker is declared colored, and its
// named volume is one volume for both colors, so its data is never split.
func TestTwoServiceColor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"docker-compose.yml": twoServices})
	removeVolumesOf(t, f.docker, f.project, f.project+"-blue", f.project+"-green")
	in := map[string]string{"health-path": "/"} // answers at once; only Docker's check waits 2 s

	for _, step := range []struct{ version, color, old string }{{"v1", "blue", "green"}, {"v2", "green", "blue"}} {
		r := f.deploy(in, "VERSION="+step.version)
		require.Equal(t, 0, r.code, r.out)
		f.requireServes(step.version, step.color)
		require.ElementsMatch(t, []string{f.project + "-" + step.color + "-web-1", f.project + "-" + step.color + "-worker-1"}, f.running(step.color))
		require.Empty(t, f.running(step.old), "the old color is stopped (kept by keep-previous)")

		mounted := ""
		for _, m := range inspect(t, f.docker, f.project+"-"+step.color+"-worker-1").Mounts {
			if m.Destination == "/var/lib/jobs" {
				mounted = m.Name
			}
		}
		require.Equal(t, f.project+"_jobs", mounted, "both colors' workers mount the one volume")

		web := inspect(t, f.docker, f.project+"-"+step.color+"-web-1")
		worker := inspect(t, f.docker, f.project+"-"+step.color+"-worker-1")
		require.Equal(t, "healthy", web.State.Health.Status)
		gap := startedAt(t, worker).Sub(startedAt(t, web))
		require.GreaterOrEqual(t, gap, 2*time.Second, "the worker started %s after web, before web's healthcheck could pass (READY_AFTER 2s)", gap)
		t.Logf("%s: worker started %s after web", step.version, gap.Round(time.Millisecond))
	}
}

// dockerHealth is one web service whose Docker healthcheck reads /health,
// while the deploy's HTTP check reads /, which answers at once.
const dockerHealth = `services:
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
      READY_AFTER: ${READY_AFTER:-0s}
      HEALTH_STATUS: ${HEALTH_STATUS:-0}
    ports:
      - "${BLUEGREEN_PORT}:8080"
    healthcheck:
      test: ["CMD", "/app", "healthcheck"]
      interval: 300ms
      retries: 20
`

// TestDeployWaitsForDockerHealthcheck: when the service has a Docker
// healthcheck, nginx is switched only once Docker says healthy, even though
// the HTTP check passed long before; and a service Docker never finds
// healthy is not switched to at all.
func TestDeployWaitsForDockerHealthcheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"docker-compose.yml": dockerHealth})
	in := map[string]string{"health-path": "/"}
	before := f.include()

	// Watch the include while the deploy runs: the moment it changes, the
	// new container must already be healthy by Docker's healthcheck.
	var healthAtSwitch string
	done := make(chan run)
	go func() { done <- f.deploy(in, "VERSION=v1", "READY_AFTER=2s") }()
	var r run
watch:
	for {
		select {
		case r = <-done:
			break watch
		case <-time.After(10 * time.Millisecond):
		}
		if healthAtSwitch == "" {
			if data, err := os.ReadFile(f.nginx.IncludePath); err == nil && string(data) != before {
				healthAtSwitch = inspect(t, f.docker, f.project+"-blue-web-1").State.Health.Status
			}
		}
	}
	require.Equal(t, 0, r.code, r.out)
	require.Equal(t, "healthy", healthAtSwitch, "nginx was switched while Docker's healthcheck said %q", healthAtSwitch)
	require.GreaterOrEqual(t, r.took, 2*time.Second, "the deploy waited for READY_AFTER")
	f.requireServes("v1", "blue")

	// A version whose Docker healthcheck never passes is not switched to.
	r = f.deploy(map[string]string{"health-path": "/", "health-retries": "10", "health-interval": "200ms"}, "VERSION=v2", "HEALTH_STATUS=500")
	r.requireFailedIn(t, deploy.PhaseHealth)
	require.Contains(t, r.out, "Docker's healthcheck")
	require.Contains(t, r.out, f.project+"-green-web-1")
	f.requireServes("v1", "blue")
	require.Empty(t, f.all("green"))
}

// TestPortTakenNamesHolder: a container outside the project that already
// publishes the new color's port fails the deploy before the switch, and
// the message names it.
func TestPortTakenNamesHolder(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	before := f.include()

	squatter := f.project + "-squatter"
	runContainer(t, f.docker, squatter, &container.Config{Image: f.image, ExposedPorts: nat.PortSet{"8080/tcp": {}}},
		&container.HostConfig{PortBindings: nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: itoa(f.greenPort)}}}}, nil)

	r := f.deploy(nil, "VERSION=v2")
	r.requireFailedIn(t, deploy.PhaseStart)
	require.Contains(t, r.out, "container "+squatter+" already publishes")
	require.Contains(t, r.out, "docker stop "+squatter)
	require.Equal(t, before, f.include())
	f.requireServes("v1", "blue")
	require.Empty(t, f.all("green"))
}

// TestExternalNetworkDatabase deploys a web app whose database runs on an
// external network, outside both colors, and switches colors twice: the
// database keeps its data (the counter goes on), its container, and a
// connection held open across all the deploys.
func TestExternalNetworkDatabase(t *testing.T) {
	t.Parallel()
	docker := testenv.RequireDocker(t)
	kv := kvImage(t, docker)
	ctx := context.Background()
	shared := fmt.Sprintf("bge2e-%d-shared", time.Now().UnixNano()%1_000_000_000)
	_, err := docker.NetworkCreate(ctx, shared, network.CreateOptions{Driver: "bridge"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = docker.NetworkRemove(context.Background(), shared) })

	dbPort := testenv.FreePort(t)
	dbName := shared + "-db"
	dbID := runContainer(t, docker, dbName,
		&container.Config{Image: kv, Cmd: []string{"db"}, ExposedPorts: nat.PortSet{"7000/tcp": {}}},
		&container.HostConfig{PortBindings: nat.PortMap{"7000/tcp": {{HostIP: "127.0.0.1", HostPort: itoa(dbPort)}}}},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{shared: {Aliases: []string{"db"}}}})
	dbStarted := inspect(t, docker, dbID).State.StartedAt

	// A client of the database that stays connected through every deploy.
	held := dialDB(t, dbPort)
	require.Equal(t, int64(1), held.do(t, "INCR"))

	f := newFixture(t, map[string]string{"docker-compose.yml": fmt.Sprintf(`services:
  web:
    image: %s
    command: ["web"]
    environment:
      VERSION: ${VERSION}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
      DB_ADDR: db:7000
    ports:
      - "${BLUEGREEN_PORT}:8080"
    networks:
      - default
      - shared
networks:
  shared:
    name: %s
    external: true
`, kv, shared)})

	last := int64(1)
	for _, step := range []struct{ version, color, old string }{{"v1", "blue", "green"}, {"v2", "green", "blue"}, {"v3", "blue", "green"}} {
		r := f.deploy(nil, "VERSION="+step.version)
		require.Equal(t, 0, r.code, r.out)
		require.Empty(t, f.running(step.old))
		for i := 0; i < 3; i++ {
			code, body, err := f.get("/")
			require.NoError(t, err)
			require.Equal(t, 200, code, body)
			var version, color string
			var count int64
			_, err = fmt.Sscanf(body, "version=%s color=%s count=%d", &version, &color, &count)
			require.NoError(t, err, body)
			require.Equal(t, step.version, version)
			require.Equal(t, step.color, color)
			require.Greater(t, count, last, "the counter goes on from the previous color's count")
			last = count
		}
		// The held connection still works and sees the same data; the
		// database has exactly it and the live color's web app connected.
		require.Equal(t, last, held.do(t, "GET"))
		require.Eventually(t, func() bool { return held.do(t, "CONNS") == 2 }, 10*time.Second, 100*time.Millisecond,
			"the database should hold two connections: the test's and the live color's")
		db := inspect(t, docker, dbID)
		require.True(t, db.State.Running)
		require.Equal(t, dbStarted, db.State.StartedAt, "the database was not restarted")
		require.Equal(t, 0, db.RestartCount)
		require.Contains(t, db.NetworkSettings.Networks, shared, "the database is still on the shared network")
	}
	_, err = docker.NetworkInspect(ctx, shared, network.InspectOptions{})
	require.NoError(t, err, "the external network survives the deploys")
}

// seedFile is the seed's compose file for one color, as docker-compose ran
// it: version 3, container_name, a published port and an env_file. Only
// VERSION is added, so that the new deploy is visibly a new version.
const seedFile = `version: '3'

services:
  spring-backend:
    container_name: %PROJECT%-%COLOR%
    image: %IMAGE%
    ports:
      - "%PORT%:8080"
    env_file:
      - .env
    environment:
      - VERSION=${VERSION:-seed}
`

// TestAdoptSeedDeployment is a host switching from the seed's deploy.sh
// to the action: blue was started by docker-compose with the seed's file
// and nginx's include is the seed's one line. The action deploys green
// while clients keep sending requests through nginx: none fails, and the
// seed's containers and network are gone afterwards.
func TestAdoptSeedDeployment(t *testing.T) {
	t.Parallel()
	bin := dockerComposeV1(t)
	files := map[string]string{".env": "SPRING_PROFILES_ACTIVE=prod\nHEALTH_PATH=/api/health\n"}
	for _, c := range []string{"blue", "green"} {
		port := "%BLUE_PORT%"
		if c == "green" {
			port = "%GREEN_PORT%"
		}
		files["docker-compose."+c+".yml"] = strings.NewReplacer("%COLOR%", c, "%PORT%", port).Replace(seedFile)
	}
	f := newFixture(t, files)

	// What deploy.sh left: blue up by docker-compose, the include on 8081.
	cmd := exec.Command(bin, "-p", f.project+"-blue", "-f", "docker-compose.blue.yml", "up", "-d")
	cmd.Dir = f.dir
	cmd.Env = composeEnv()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	require.NoError(t, os.WriteFile(f.nginx.IncludePath, []byte(fmt.Sprintf("set $service_url http://127.0.0.1:%d;\n", f.bluePort)), 0o644))
	reload := f.nginx.ReloadCmd()
	out, err = exec.Command(reload[0], reload[1:]...).CombinedOutput()
	require.NoError(t, err, string(out))
	f.requireSettled("version=seed color=")

	l := startGetLoop(f.nginx.URL("/"), 4)
	r := f.deploy(map[string]string{
		"blue-compose-file":  "docker-compose.blue.yml",
		"green-compose-file": "docker-compose.green.yml",
		"health-path":        "/api/health",
	}, "VERSION=v2")
	time.Sleep(500 * time.Millisecond) // requests after the hand-over count too
	res := l.stop()
	require.Equal(t, 0, r.code, r.out)
	t.Logf("during the hand-over: %d requests, %d failed, versions %v", res.sent, len(res.failures), res.versions)
	require.Empty(t, res.failures, "requests failed during the hand-over")
	require.Greater(t, res.sent, 50)
	require.Greater(t, res.versions["version=seed color="], 0, "the seed's blue served during the deploy")
	require.Greater(t, res.versions["version=v2 color="], 0, "green served after the switch")

	f.requireServes("v2", "")
	require.Equal(t, []string{f.project + "-green"}, f.running("green"))
	require.Empty(t, f.running("blue"), "the seed's container is stopped")
	seed, err := f.docker.ContainerInspect(context.Background(), f.project+"-blue")
	require.NoError(t, err, "keep-previous (the default) keeps the seed's container for mode: rollback")
	require.False(t, seed.State.Running)
	_, err = f.docker.NetworkInspect(context.Background(), f.project+"-blue_default", network.InspectOptions{})
	require.NoError(t, err, "docker-compose's network stays with its container")
}

// fiveServices is the color the speed comparison brings up and down.
const fiveServices = `services:
  web:
    image: ${APP_IMAGE}
    ports:
      - "127.0.0.1:${PORT}:8080"
    healthcheck:
      test: ["CMD", "/app", "healthcheck"]
      interval: 1s
    depends_on: [cache, queue]
  api:
    image: ${APP_IMAGE}
    environment:
      PORT: "9000"
    depends_on: [cache]
  worker:
    image: ${APP_IMAGE}
    environment:
      MODE: worker
    depends_on: [queue]
  cache:
    image: ${APP_IMAGE}
    environment:
      MODE: worker
  queue:
    image: ${APP_IMAGE}
    environment:
      MODE: worker
`

// BenchmarkFiveServiceUpDown measures bringing a five-service color up and
// taking it down, with docker-compose v1 (up -d, down) and with our engine
// (Up, Down), alternately in the same run on the same daemon. It reports
// the mean seconds of each; it asserts nothing about them.
//
//	go test -tags e2e ./e2e -run '^$' -bench FiveServiceUpDown -benchtime 5x
func BenchmarkFiveServiceUpDown(b *testing.B) {
	bin := dockerComposeV1(b)
	docker := testenv.RequireDocker(b)
	img := testenv.AppImage(b)
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, "compose.yml"), []byte(fiveServices), 0o644))
	project := fmt.Sprintf("bge2e-bench-%d-green", time.Now().UnixNano()%1_000_000_000)
	env := map[string]string{"APP_IMAGE": img, "PORT": itoa(testenv.FreePort(b))}
	b.Cleanup(func() { throwaway.RemoveProject(docker, project) })
	e := &compose.Engine{Docker: docker}
	ctx := context.Background()

	v1 := func(args ...string) time.Duration {
		cmd := exec.Command(bin, append([]string{"-p", project, "-f", "compose.yml"}, args...)...)
		cmd.Dir = dir
		cmd.Env = composeEnv()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		require.NoError(b, err, string(out))
		return time.Since(start)
	}
	var v1Up, v1Down, ourUp, ourDown time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v1Up += v1("up", "-d")
		v1Down += v1("down")

		start := time.Now()
		p, err := compose.Load(ctx, compose.LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}, Environment: env})
		require.NoError(b, err)
		_, err = e.Up(ctx, p)
		require.NoError(b, err)
		ourUp += time.Since(start)
		start = time.Now()
		require.NoError(b, e.Down(ctx, project, nil))
		ourDown += time.Since(start)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(v1Up.Seconds()/n, "compose-up-s")
	b.ReportMetric(v1Down.Seconds()/n, "compose-down-s")
	b.ReportMetric(ourUp.Seconds()/n, "ours-up-s")
	b.ReportMetric(ourDown.Seconds()/n, "ours-down-s")
	b.Logf("five services, mean of %d: docker-compose up -d %s, down %s; ours Up %s (with Load), Down %s",
		b.N, (v1Up / time.Duration(b.N)).Round(time.Millisecond), (v1Down / time.Duration(b.N)).Round(time.Millisecond),
		(ourUp / time.Duration(b.N)).Round(time.Millisecond), (ourDown / time.Duration(b.N)).Round(time.Millisecond))
}

// dockerComposeV1 returns the docker-compose binary, or skips (fails in CI).
func dockerComposeV1(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("docker-compose is required in CI (CI=true): %v", err)
		}
		t.Skipf("skipping: docker-compose is not installed (%v); CI runs this test", err)
	}
	return bin
}

// composeEnv is what docker-compose needs to reach the daemon, and nothing
// that could change its interpolation.
func composeEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "COMPOSE_INTERACTIVE_NO_CLI=1", "COMPOSE_HTTP_TIMEOUT=300"}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		env = append(env, "DOCKER_HOST="+h)
	}
	return env
}

// inspect inspects a container by name or id.
func inspect(t *testing.T, docker *client.Client, id string) container.InspectResponse {
	t.Helper()
	info, err := docker.ContainerInspect(context.Background(), id)
	require.NoError(t, err)
	return info
}

func startedAt(t *testing.T, info container.InspectResponse) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, info.State.StartedAt)
	require.NoError(t, err)
	return ts
}

// runContainer creates and starts a container that no color owns, and
// removes it when the test ends.
func runContainer(t *testing.T, docker *client.Client, name string, cfg *container.Config, host *container.HostConfig, nets *network.NetworkingConfig) string {
	t.Helper()
	ctx := context.Background()
	resp, err := docker.ContainerCreate(ctx, cfg, host, nets, nil, name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = docker.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
	})
	require.NoError(t, docker.ContainerStart(ctx, resp.ID, container.StartOptions{}))
	return resp.ID
}

// removeVolumesOf removes the volumes of the given projects when the test
// ends. It runs before the fixture's own cleanup, so it removes the
// projects' containers first: a volume in use cannot be removed.
func removeVolumesOf(t *testing.T, docker *client.Client, projects ...string) {
	t.Cleanup(func() {
		ctx := context.Background()
		for _, p := range projects {
			byLabel := filters.NewArgs(filters.Arg("label", compose.LabelProject+"="+p))
			if list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: byLabel}); err == nil {
				for _, c := range list {
					_ = docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
				}
			}
			list, err := docker.VolumeList(ctx, volume.ListOptions{Filters: byLabel})
			if err != nil {
				continue
			}
			for _, v := range list.Volumes {
				_ = docker.VolumeRemove(ctx, v.Name, true)
			}
		}
	})
}

// kvImage builds e2e/testdata/kv into a FROM scratch image, kept between
// runs like the app image (its tag is a content hash).
func kvImage(t *testing.T, docker *client.Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tag, err := throwaway.BuildBinaryImage(ctx, docker, testenv.RepoRoot(t), "./e2e/testdata/kv", "kv", "FROM scratch\nCOPY kv /kv\nENTRYPOINT [\"/kv\"]\n", "bge2e-kv")
	require.NoError(t, err)
	return tag
}

// dbConn is a test's own long-lived connection to the kv database.
type dbConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialDB(t *testing.T, port int) *dbConn {
	t.Helper()
	var conn net.Conn
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+itoa(port), time.Second)
		if err != nil {
			return false
		}
		// docker-proxy accepts before the app listens: prove the app answers.
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := fmt.Fprintln(c, "PING"); err == nil {
			if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
				conn = c
				return true
			}
		}
		c.Close()
		return false
	}, 20*time.Second, 100*time.Millisecond, "the database answers")
	t.Cleanup(func() { conn.Close() })
	return &dbConn{conn: conn, r: bufio.NewReader(conn)}
}

func (d *dbConn) do(t *testing.T, cmd string) int64 {
	t.Helper()
	require.NoError(t, d.conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err := fmt.Fprintln(d.conn, cmd)
	require.NoError(t, err, "the held connection to the database still works")
	line, err := d.r.ReadString('\n')
	require.NoError(t, err, "the held connection to the database still works")
	n, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	require.NoError(t, err, line)
	return n
}

// getLoop sends GETs through nginx from several clients until stopped, half
// of them on keep-alive connections and half on a new connection each.
type getLoop struct {
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	res  getLoopResult
}

type getLoopResult struct {
	sent     int
	failures []string
	versions map[string]int
}

func startGetLoop(url string, clients int) *getLoop {
	l := &getLoop{done: make(chan struct{}), res: getLoopResult{versions: map[string]int{}}}
	for i := 0; i < clients; i++ {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: i%2 == 1}}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.done:
					return
				default:
				}
				resp, err := c.Get(url)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				l.mu.Lock()
				l.res.sent++
				switch {
				case err != nil:
					l.res.failures = append(l.res.failures, err.Error())
				case resp.StatusCode != http.StatusOK:
					l.res.failures = append(l.res.failures, fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body))))
				default:
					l.res.versions[strings.TrimSpace(string(body))]++
				}
				l.mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *getLoop) stop() getLoopResult {
	close(l.done)
	l.wg.Wait()
	sort.Strings(l.res.failures)
	return l.res
}

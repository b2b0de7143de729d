//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/deploy"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/stretchr/testify/require"

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

//go:build e2e

package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/pull"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

// upProject loads compose content for project with the given environment
// and runs Up, failing the test on any error.
func upProject(t *testing.T, e *Engine, project, dir string, environment map[string]string) []Container {
	t.Helper()
	p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}, Environment: environment})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	cs, err := e.Up(ctxTimeout(t, 2*time.Minute), p)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	return cs
}

func byService(cs []Container) map[string]Container {
	m := map[string]Container{}
	for _, c := range cs {
		m[c.Service] = c
	}
	return m
}

// get fetches url until it answers 200 or the deadline passes.
func get(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(body)
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestUpInspectListLogsDown(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	port := testenv.FreePort(t)
	dir := writeProject(t, map[string]string{"compose.yml": `
services:
  web:
    image: ${APP_IMAGE}
    ports:
      - "127.0.0.1:${BLUEGREEN_PORT}:8080"
    environment:
      VERSION: v1
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    labels:
      com.example.team: web
    restart: unless-stopped
    stop_signal: SIGINT
    stop_grace_period: 3s
    healthcheck:
      test: ["CMD", "/probe", "http://127.0.0.1:8080/health"]
      interval: 1s
      retries: 30
  worker:
    image: ${APP_IMAGE}
    environment:
      MODE: worker
    depends_on:
      web:
        condition: service_healthy
`})
	cs := upProject(t, e, project, dir, map[string]string{"APP_IMAGE": img, "BLUEGREEN_PORT": strconv.Itoa(port), "BLUEGREEN_COLOR": "green"})
	if len(cs) != 2 {
		t.Fatalf("Up returned %d containers, want 2: %+v", len(cs), cs)
	}
	ctx := ctxTimeout(t, time.Minute)

	// The container as docker compose would have created it.
	web := byService(cs)["web"]
	info, err := cli.ContainerInspect(ctx, web.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "name", info.Name, "/"+project+"-web-1")
	labels := info.Config.Labels
	for k, want := range map[string]string{
		LabelProject: project, LabelService: "web", LabelContainerNumber: "1", LabelOneoff: "False",
		LabelWorkingDir: dir, LabelConfigFiles: filepath.Join(dir, "compose.yml"), LabelVersion: ComposeVersion,
		LabelDependsOn: "", "com.example.team": "web",
	} {
		if got, ok := labels[k]; !ok || got != want {
			t.Errorf("label %s = %q (present %v), want %q", k, got, ok, want)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(labels[LabelConfigHash]) {
		t.Errorf("config-hash label = %q", labels[LabelConfigHash])
	}
	if !strings.HasPrefix(labels[LabelImage], "sha256:") {
		t.Errorf("image label = %q", labels[LabelImage])
	}
	eq(t, "port bindings", fmt.Sprint(info.HostConfig.PortBindings["8080/tcp"]), fmt.Sprintf("[{127.0.0.1 %d}]", port))
	for _, want := range []string{"VERSION=v1", "BLUEGREEN_COLOR=green"} {
		if !slices.Contains(info.Config.Env, want) {
			t.Errorf("env %v lacks %s", info.Config.Env, want)
		}
	}
	eq(t, "restart policy", string(info.HostConfig.RestartPolicy.Name), "unless-stopped")
	eq(t, "stop signal", info.Config.StopSignal, "SIGINT")
	eq(t, "stop timeout", *info.Config.StopTimeout, 3)
	netName := project + "_default"
	ep := info.NetworkSettings.Networks[netName]
	if ep == nil || !slices.Contains(ep.Aliases, "web") || !slices.Contains(ep.Aliases, project+"-web-1") {
		t.Errorf("endpoint on %s = %+v, want aliases web and %s-web-1", netName, ep, project)
	}
	nw, err := cli.NetworkInspect(ctx, netName, network.InspectOptions{})
	if err != nil {
		t.Fatalf("network %s: %v", netName, err)
	}
	for k, want := range map[string]string{LabelNetwork: "default", LabelProject: project, LabelVersion: ComposeVersion} {
		if nw.Labels[k] != want {
			t.Errorf("network label %s = %q, want %q", k, nw.Labels[k], want)
		}
	}

	// It serves, with the interpolated environment.
	if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); !strings.Contains(body, "version=v1 color=green") {
		t.Errorf("GET / = %q", body)
	}

	// depends_on service_healthy made the worker wait for web's healthcheck.
	wInfo, err := cli.ContainerInspect(ctx, byService(cs)["worker"].ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "worker depends_on label", wInfo.Config.Labels[LabelDependsOn], "web:service_healthy:false")
	webStart, _ := time.Parse(time.RFC3339Nano, info.State.StartedAt)
	workerStart, _ := time.Parse(time.RFC3339Nano, wInfo.State.StartedAt)
	if workerStart.Sub(webStart) < 900*time.Millisecond {
		t.Errorf("worker started %v after web, before web's first healthcheck (1s)", workerStart.Sub(webStart))
	}

	// List finds both, with what the deploy needs.
	list, err := e.List(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Service != "web" || list[1].Service != "worker" {
		t.Fatalf("List = %+v", list)
	}
	lw := list[0]
	eq(t, "listed ports", lw.PublishedPorts, []uint16{uint16(port)})
	eq(t, "listed health", lw.Health, "healthy")
	if !lw.Running || lw.State != "running" || lw.Project != project || lw.Image != img || lw.Name != project+"-web-1" {
		t.Errorf("listed web = %+v", lw)
	}
	if lw.IPs[netName] == "" {
		t.Errorf("listed web has no IP on %s: %v", netName, lw.IPs)
	}
	eq(t, "listed worker depends on", list[1].DependsOn, []string{"web"})

	logs, err := e.Logs(ctx, web.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "app v1 (green) starting") || !strings.Contains(logs, "listening on :8080") {
		t.Errorf("logs = %q", logs)
	}

	// Stop uses the configured stop signal and keeps the containers.
	if err := e.Stop(ctx, project, nil); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped, err := e.Inspect(ctx, web.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stopped.Running || stopped.State != "exited" {
		t.Errorf("after Stop web = %+v", stopped)
	}
	if logs, _ := e.Logs(ctx, web.ID, 5); !strings.Contains(logs, "interrupt") {
		t.Errorf("web was not stopped with its stop_signal SIGINT: %q", logs)
	}

	// Down removes containers and network, and is idempotent.
	if err := e.Down(ctx, project, nil); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if list, err := e.List(ctx, project); err != nil || len(list) != 0 {
		t.Errorf("after Down List = %+v, %v", list, err)
	}
	if _, err := cli.NetworkInspect(ctx, netName, network.InspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("network %s still there after Down: %v", netName, err)
	}
	if err := e.Down(ctx, project, nil); err != nil {
		t.Errorf("second Down: %v", err)
	}
	if _, err := e.Inspect(ctx, web.ID); !errors.Is(err, ErrNoSuchContainer) {
		t.Errorf("Inspect after Down = %v, want ErrNoSuchContainer", err)
	}
}

func TestUpDependsOnCompletedSuccessfully(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	for _, tc := range []struct {
		name     string
		exitCode int
		wantErr  string
	}{
		{"success", 0, ""},
		{"failure", 3, "service migrate exited with code 3, not 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			project := newProjectName(t)
			e, _ := newEngine(t, project)
			dir := writeProject(t, map[string]string{"compose.yml": fmt.Sprintf(`
services:
  migrate:
    image: %s
    environment: {MODE: worker, EXIT_AFTER: 300ms, EXIT_CODE: "%d"}
  app:
    image: %s
    environment: {MODE: worker}
    depends_on:
      migrate:
        condition: service_completed_successfully
`, img, tc.exitCode, img)})
			p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}})
			if err != nil {
				t.Fatal(err)
			}
			cs, err := e.Up(ctxTimeout(t, time.Minute), p)
			if len(cs) != 2 {
				t.Errorf("Up returned %d containers, want both created ones", len(cs))
			}
			app := byService(cs)["app"]
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Up: %v", err)
				}
				if !app.Running {
					t.Errorf("app not running: %+v", app)
				}
				if m := byService(cs)["migrate"]; m.State != "exited" || m.ExitCode != 0 {
					t.Errorf("migrate = %+v, want exited 0", m)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrDependencyFailed) {
				t.Fatalf("Up = %v, want %q (ErrDependencyFailed)", err, tc.wantErr)
			}
			if app.Running || app.State != "created" {
				t.Errorf("app = %+v, want created and never started", app)
			}
		})
	}
}

func TestUpNeverReplacesExistingContainers(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, _ := newEngine(t, project)
	dir := writeProject(t, map[string]string{"compose.yml": "services:\n  web:\n    image: " + img + "\n    environment: {MODE: worker}\n"})
	first := upProject(t, e, project, dir, nil)
	p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Up(ctxTimeout(t, time.Minute), p)
	if !errors.Is(err, ErrNameInUse) || !strings.Contains(err.Error(), project+"-web-1") {
		t.Fatalf("second Up = %v, want ErrNameInUse naming the container", err)
	}
	c, err := e.Inspect(ctxTimeout(t, time.Minute), first[0].ID)
	if err != nil || !c.Running {
		t.Errorf("the first container was disturbed: %+v %v", c, err)
	}
}

func TestUpRejectsMissingImageAndUnsupportedKeys(t *testing.T) {
	t.Parallel()
	project := newProjectName(t)
	e, _ := newEngine(t, project)
	dir := writeProject(t, map[string]string{"compose.yml": "services:\n  web:\n    image: " + project + "/missing:1\n"})
	p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Up(ctxTimeout(t, time.Minute), p); !errors.Is(err, ErrImageMissing) || !strings.Contains(err.Error(), "service web") {
		t.Errorf("Up with a missing image = %v, want ErrImageMissing naming the service", err)
	}
	unsupported := loadYAML(t, svc("build:\n  context: .\n  ssh: [default]"))
	if _, err := e.Up(ctxTimeout(t, time.Minute), unsupported); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Up with build.ssh = %v, want ErrUnsupported", err)
	}
}

func TestStopOrderAndTimeout(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	dir := writeProject(t, map[string]string{"compose.yml": fmt.Sprintf(`
services:
  db:
    image: %[1]s
    environment: {MODE: worker}
  api:
    image: %[1]s
    environment: {MODE: worker}
    depends_on: [db]
  front:
    image: %[1]s
    environment: {MODE: worker}
    depends_on: [api]
`, img)})
	cs := upProject(t, e, project, dir, nil)
	ctx := ctxTimeout(t, time.Minute)
	zero := time.Duration(0)
	if err := e.Stop(ctx, project, &zero); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	finished := map[string]time.Time{}
	for _, c := range cs {
		info, err := cli.ContainerInspect(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Running {
			t.Errorf("%s still running after Stop", c.Service)
		}
		finished[c.Service], _ = time.Parse(time.RFC3339Nano, info.State.FinishedAt)
	}
	if !finished["front"].Before(finished["api"]) || !finished["api"].Before(finished["db"]) {
		t.Errorf("stop order front, api, db not kept: %v", finished)
	}
	if err := e.Stop(ctx, project, nil); err != nil {
		t.Errorf("Stop of a stopped project: %v", err)
	}
}

// TestStopTimeout uses a container that ignores its stop signal (the Go
// runtime catches SIGWINCH and does nothing), so the time Stop takes is the
// timeout in force: the container's stop_grace_period when timeout is nil,
// else the given one.
func TestStopTimeout(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	dir := writeProject(t, map[string]string{"compose.yml": fmt.Sprintf(`
services:
  stubborn:
    image: %s
    environment: {MODE: worker}
    stop_signal: SIGWINCH
    stop_grace_period: 3s
`, img)})
	cs := upProject(t, e, project, dir, nil)
	ctx := ctxTimeout(t, time.Minute)
	stopFor := func(timeout *time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		if err := e.Stop(ctx, project, timeout); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		took := time.Since(start)
		c, err := e.Inspect(ctx, cs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Running || c.ExitCode != 137 {
			t.Errorf("after Stop: running %v, exit code %d; want killed (137) after ignoring SIGWINCH", c.Running, c.ExitCode)
		}
		return took
	}
	if took := stopFor(nil); took < 2800*time.Millisecond || took > 10*time.Second {
		t.Errorf("Stop(nil) took %v, want about the 3s stop_grace_period", took)
	}
	if err := cli.ContainerStart(ctx, cs[0].ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	one := time.Second
	if took := stopFor(&one); took < 800*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("Stop(1s) took %v, want about 1s", took)
	}
}

func TestUpVolumesAndNetworks(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	ctx := ctxTimeout(t, 2*time.Minute)
	ext := project + "-ext"
	if _, err := cli.NetworkCreate(ctx, ext, network.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), ext) })
	octet := 100 + int(project[5])%100 // a subnet per test run, unlikely to clash
	subnet := fmt.Sprintf("10.231.%d.0/24", octet)
	ip := fmt.Sprintf("10.231.%d.10", octet)
	dir := writeProject(t, map[string]string{
		"site/index.html": "hello",
		"compose.yml": fmt.Sprintf(`
services:
  api:
    image: %s
    environment: {MODE: worker}
    read_only: true
    tmpfs: [/tmp]
    volumes:
      - ./site:/site:ro
      - data:/data
      - type: tmpfs
        target: /scratch
    networks:
      back:
        ipv4_address: %s
        aliases: [api-alias]
      shared: {}
networks:
  back:
    ipam:
      config:
        - subnet: %s
  shared:
    external: true
    name: %s
volumes:
  data: {}
`, img, ip, subnet, ext),
	})
	p, err := Load(ctx, LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	if w := Warnings(p); len(w) != 0 {
		t.Errorf("Warnings = %v, want none: a named volume is no longer split by color (SplitProject)", w)
	}
	cs, err := e.Up(ctx, p)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	info, err := cli.ContainerInspect(ctx, cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !info.HostConfig.ReadonlyRootfs {
		t.Errorf("read_only not applied")
	}
	mounts := map[string]string{}
	for _, m := range info.Mounts {
		mounts[m.Destination] = string(m.Type) + " " + m.Source + " " + m.Name + " rw=" + strconv.FormatBool(m.RW)
	}
	eq(t, "bind mount", mounts["/site"], "bind "+filepath.Join(dir, "site")+"  rw=false")
	if !strings.HasPrefix(mounts["/data"], "volume ") || !strings.Contains(mounts["/data"], project+"_data") {
		t.Errorf("/data mount = %q, want volume %s_data", mounts["/data"], project)
	}
	if _, ok := info.HostConfig.Tmpfs["/tmp"]; !ok {
		t.Errorf("tmpfs /tmp missing: %v", info.HostConfig.Tmpfs)
	}
	vol, err := cli.VolumeInspect(ctx, project+"_data")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "volume labels", [2]string{vol.Labels[LabelVolume], vol.Labels[LabelProject]}, [2]string{"data", project})
	back := info.NetworkSettings.Networks[project+"_back"]
	if back == nil || back.IPAddress != ip || !slices.Contains(back.Aliases, "api-alias") || !slices.Contains(back.Aliases, "api") {
		t.Errorf("endpoint on %s_back = %+v, want %s with aliases api, api-alias", project, back, ip)
	}
	if shared := info.NetworkSettings.Networks[ext]; shared == nil || !slices.Contains(shared.Aliases, "api") {
		t.Errorf("not connected to the external network %s with alias api: %+v", ext, shared)
	}

	if err := e.Down(ctx, project, nil); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if _, err := cli.NetworkInspect(ctx, project+"_back", network.InspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("project network survived Down: %v", err)
	}
	if _, err := cli.NetworkInspect(ctx, ext, network.InspectOptions{}); err != nil {
		t.Errorf("Down removed the external network: %v", err)
	}
	if _, err := cli.VolumeInspect(ctx, project+"_data"); err != nil {
		t.Errorf("Down removed the volume: %v", err)
	}
}

func TestUpRefusesNetworkOfAnotherProject(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	ctx := ctxTimeout(t, time.Minute)
	name := project + "_default"
	if _, err := cli.NetworkCreate(ctx, name, network.CreateOptions{Labels: map[string]string{LabelProject: "someone-else"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), name) })
	dir := writeProject(t, map[string]string{"compose.yml": "services:\n  web:\n    image: " + img + "\n"})
	p, err := Load(ctx, LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Up(ctx, p); !errors.Is(err, ErrNameInUse) || !strings.Contains(err.Error(), "external: true") {
		t.Errorf("Up = %v, want ErrNameInUse suggesting external: true", err)
	}
}

func TestEnsureImages(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	e := &Engine{Docker: testenv.RequireDocker(t)}
	missing := "127.0.0.1:1/bgtc-missing/app:1" // nothing listens there: fails fast
	load := func(image, pullPolicy string) *types.Project {
		yaml := "services:\n  web:\n    image: " + image + "\n"
		if pullPolicy != "" {
			yaml += "    pull_policy: " + pullPolicy + "\n"
		}
		return loadYAML(t, yaml)
	}
	tests := []struct {
		name    string
		p       *types.Project
		policy  pull.Policy
		is      error
		mention []string
	}{
		{"present, missing", load(img, ""), pull.Missing, nil, nil},
		{"present, never", load(img, ""), pull.Never, nil, nil},
		{"absent, never", load(missing, ""), pull.Never, ErrImageMissing, []string{"service web", missing, "pull policy is never"}},
		{"absent, missing", load(missing, ""), pull.Missing, ErrPullFailed, []string{"service web", missing, "registry"}},
		{"absent, service pull_policy never", load(missing, "never"), "", ErrImageMissing, []string{"service web"}},
		{"present, always", load(img, ""), pull.Always, ErrPullFailed, []string{img}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := e.EnsureImages(ctxTimeout(t, time.Minute), tc.p, tc.policy, Credentials{})
			if tc.is == nil {
				if err != nil {
					t.Fatalf("EnsureImages = %v", err)
				}
				return
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("EnsureImages = %v, want %v", err, tc.is)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

// requireDockerComposeV1 returns the docker-compose binary, or skips (fails
// in CI).
func requireDockerComposeV1(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("docker-compose is required in CI: %v", err)
		}
		t.Skipf("docker-compose not installed: %v", err)
	}
	return bin
}

func runCompose(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COMPOSE_INTERACTIVE_NO_CLI=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// seedFile is the seed's compose file shape: version 3, container_name,
// a published port and an env_file.
func seedFile(image, container string, port int) string {
	return fmt.Sprintf(`version: '3'

services:
  spring-backend:
    container_name: %s
    image: %s
    ports:
      - "127.0.0.1:%d:8080"
    env_file:
      - .env
`, container, image, port)
}

// TestAdoptDockerComposeV1Project is the seed's situation: a color started
// by docker-compose v1. List must find it and Down must remove it.
func TestAdoptDockerComposeV1Project(t *testing.T) {
	t.Parallel()
	bin := requireDockerComposeV1(t)
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	port := testenv.FreePort(t)
	dir := writeProject(t, map[string]string{
		"docker-compose.blue.yml": seedFile(img, project+"-blue", port),
		".env":                    "VERSION=seed\n",
	})
	runCompose(t, bin, dir, "-p", project, "-f", "docker-compose.blue.yml", "up", "-d")
	ctx := ctxTimeout(t, time.Minute)

	list, err := e.List(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Service != "spring-backend" || list[0].Name != project+"-blue" || !list[0].Running {
		t.Fatalf("List = %+v, want the running spring-backend container", list)
	}
	eq(t, "published ports", list[0].PublishedPorts, []uint16{uint16(port)})
	if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); !strings.Contains(body, "version=seed") {
		t.Errorf("GET = %q", body)
	}
	if err := e.Down(ctx, project, nil); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if list, err := e.List(ctx, project); err != nil || len(list) != 0 {
		t.Errorf("after Down List = %+v, %v", list, err)
	}
	if _, err := cli.NetworkInspect(ctx, project+"_default", network.InspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("docker-compose's network survived Down: %v", err)
	}
}

// TestDockerComposeV1ManagesOurProject is the other direction: what Up
// created, the user's docker-compose ps and down still see and remove.
func TestDockerComposeV1ManagesOurProject(t *testing.T) {
	t.Parallel()
	bin := requireDockerComposeV1(t)
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	port := testenv.FreePort(t)
	dir := writeProject(t, map[string]string{
		"compose.yml": seedFile(img, project+"-green", port),
		".env":        "VERSION=ours\n",
	})
	cs := upProject(t, e, project, dir, nil)
	if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); !strings.Contains(body, "version=ours") {
		t.Errorf("GET = %q", body)
	}
	ps := runCompose(t, bin, dir, "-p", project, "-f", "compose.yml", "ps", "-q")
	if !strings.Contains(ps, cs[0].ID) {
		t.Errorf("docker-compose ps -q = %q, want %s", ps, cs[0].ID)
	}
	runCompose(t, bin, dir, "-p", project, "-f", "compose.yml", "down")
	ctx := ctxTimeout(t, time.Minute)
	if list, err := e.List(ctx, project); err != nil || len(list) != 0 {
		t.Errorf("after docker-compose down List = %+v, %v", list, err)
	}
	if _, err := cli.NetworkInspect(ctx, project+"_default", network.InspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("network survived docker-compose down: %v", err)
	}
}

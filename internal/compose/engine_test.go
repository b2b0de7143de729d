//go:build e2e

package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
	cerrdefs "github.com/containerd/errdefs"
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

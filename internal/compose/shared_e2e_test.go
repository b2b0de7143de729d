//go:build e2e

package compose

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// sharedApp is a web app whose database is shared: it keeps its
// container_name, host port and named volume, and the migration job of
// each color reaches it by its service name, which proves both the
// networking and that depends_on on a shared service is waited for (the
// database answers 503 for its first four seconds, so a job started before
// it is healthy fails, and starts no sooner than that after it).
const sharedApp = `services:
  web:
    image: ${APP_IMAGE}
    ports: ["127.0.0.1:${PORT}:8080"]
    environment: {VERSION: "${VERSION}"}
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
  migrate:
    image: ${APP_IMAGE}
    command: ["healthcheck", "http://db:8080/health"]
    depends_on:
      db: {condition: service_healthy}
  db:
    image: ${APP_IMAGE}
    container_name: ${UNIQ}-db
    ports: ["127.0.0.1:${DB_PORT}:8080"]
    environment: {READY_AFTER: 4s, SCHEMA: "${SCHEMA}"}
    healthcheck: {test: ["CMD", "/app", "healthcheck"], interval: 500ms, retries: 40}
    volumes: [data:/data]
    x-bluegreen: {role: shared}
volumes:
  data:
`

// TestSharedServicesConverge deploys blue and then green of an app with a
// shared database, and holds the database to docker compose up's
// convergence: created once, left alone (the same container) while its
// definition stays, started when stopped, recreated when it changes.
func TestSharedServicesConverge(t *testing.T) {
	t.Parallel()
	cli := testenv.RequireDocker(t)
	img := testenv.AppImage(t)
	base := newProjectName(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yml")
	if err := os.WriteFile(file, []byte(sharedApp), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{base + "-blue", base + "-green", SharedProjectName(base)} {
		t.Cleanup(func() { throwaway.RemoveProject(cli, p) })
	}
	t.Cleanup(func() { _ = cli.VolumeRemove(context.Background(), base+"_data", true) })
	dbPort := strconv.Itoa(testenv.FreePort(t))
	load := func(color, version, schema string) Parts {
		t.Helper()
		p, err := Load(context.Background(), LoadOptions{ProjectName: base + "-" + color, Files: []string{file}, Environment: map[string]string{
			"APP_IMAGE": img, "UNIQ": base, "PORT": strconv.Itoa(testenv.FreePort(t)), "DB_PORT": dbPort, "VERSION": version, "SCHEMA": schema,
		}})
		if err != nil {
			t.Fatal(err)
		}
		roles, problems := ClassifyServices(p, Declared{Traffic: "web"})
		if len(problems) != 0 {
			t.Fatalf("problems: %s", problemText(problems))
		}
		parts, err := SplitProject(p, base, roles)
		if err != nil {
			t.Fatal(err)
		}
		return parts
	}
	e := &Engine{Docker: cli}
	converge := func(parts Parts, want string) string {
		t.Helper()
		changes, err := e.Converge(ctxTimeout(t, 2*time.Minute), parts.Shared)
		if err != nil {
			t.Fatalf("Converge: %v", err)
		}
		if len(changes) != 1 || changes[0].String() != want {
			t.Fatalf("Converge did %v, want %q", changes, want)
		}
		return containerID(t, cli, base+"-db")
	}
	up := func(parts Parts) {
		t.Helper()
		cs, err := e.Up(ctxTimeout(t, 2*time.Minute), parts.Color)
		if err != nil {
			t.Fatalf("Up %s: %v", parts.Color.Name, err)
		}
		for _, c := range cs {
			if c.Service == "migrate" && (c.State != "exited" || c.ExitCode != 0) {
				t.Errorf("the job of %s did not reach db by its name: %s, exit code %d", parts.Color.Name, c.State, c.ExitCode)
			}
		}
	}

	blue := load("blue", "v1", "1")
	first := converge(blue, "created db")
	up(blue)
	db, migrate := inspectService(t, cli, SharedProjectName(base), "db"), inspectService(t, cli, base+"-blue", "migrate")
	if gap := startedAt(t, migrate).Sub(startedAt(t, db)); gap < 4*time.Second {
		t.Errorf("blue's job started %s after the shared db, before db could be healthy (READY_AFTER 4s): depends_on on a shared service was not waited for", gap)
	}
	green := load("green", "v2", "1")
	if again := converge(green, "db unchanged"); again != first {
		t.Errorf("an unchanged shared service was recreated: %s, then %s", first, again)
	}
	up(green)

	vol, err := cli.VolumeInspect(ctxTimeout(t, time.Minute), base+"_data")
	if err != nil {
		t.Fatalf("the shared volume is not %s_data: %v", base, err)
	}
	if vol.Labels[LabelProject] != base {
		t.Errorf("volume %s is labelled project %q, want %s", vol.Name, vol.Labels[LabelProject], base)
	}
	web := inspectService(t, cli, base+"-green", "web")
	if ep := web.NetworkSettings.Networks[SharedProjectName(base)+"_default"]; ep == nil || strings.Join(ep.Aliases, ",") == "" || contains(ep.Aliases, "web") {
		t.Errorf("green's web on the shared network: %+v; want it there under its container name only", ep)
	}

	if err := cli.ContainerStop(ctxTimeout(t, time.Minute), first, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	if id := converge(green, "started db"); id != first {
		t.Errorf("a stopped shared service was recreated, not started")
	}
	if id := converge(load("green", "v2", "2"), "recreated db: its definition changed"); id == first {
		t.Errorf("a changed shared service kept its container")
	}
}

func startedAt(t *testing.T, info container.InspectResponse) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, info.State.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func containerID(t *testing.T, cli *client.Client, name string) string {
	t.Helper()
	info, err := cli.ContainerInspect(ctxTimeout(t, time.Minute), name)
	if err != nil {
		t.Fatal(err)
	}
	return info.ID
}

func inspectService(t *testing.T, cli *client.Client, project, service string) container.InspectResponse {
	t.Helper()
	e := &Engine{Docker: cli}
	cs, err := e.List(ctxTimeout(t, time.Minute), project)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Service == service {
			info, err := cli.ContainerInspect(ctxTimeout(t, time.Minute), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return info
		}
	}
	t.Fatalf("project %s has no service %s", project, service)
	return container.InspectResponse{}
}

// TestStartLeavesJobsAndSingletons holds what a rollback's Start does with
// roles: the kept color's services come back, a finished job is not run
// again, and singletons wait for StartSingletons (the other color's must
// stop first, StopSingletons).
func TestStartLeavesJobsAndSingletons(t *testing.T) {
	t.Parallel()
	cli := testenv.RequireDocker(t)
	img := testenv.AppImage(t)
	base := newProjectName(t)
	project := base + "-blue"
	t.Cleanup(func() { throwaway.RemoveProject(cli, project) })
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yml")
	content := `services:
  web:
    image: ` + img + `
    environment: {MODE: worker}
    depends_on:
      migrate: {condition: service_completed_successfully}
  migrate:
    image: ` + img + `
    environment: {EXIT_AFTER: 100ms, EXIT_CODE: "0", MODE: worker}
  scheduler:
    image: ` + img + `
    environment: {MODE: worker}
    x-bluegreen: {role: singleton}
`
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	roles, problems := ClassifyServices(p, Declared{Traffic: "web"})
	if len(problems) != 0 {
		t.Fatalf("problems: %s", problemText(problems))
	}
	parts, err := SplitProject(p, base, roles)
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{Docker: cli}
	if _, err := e.Up(ctxTimeout(t, 2*time.Minute), parts.Color); err != nil {
		t.Fatalf("Up: %v", err)
	}
	if _, err := e.Up(ctxTimeout(t, 2*time.Minute), parts.Singletons); err != nil {
		t.Fatalf("Up of the singletons: %v", err)
	}
	finished := inspectService(t, cli, project, "migrate").State.FinishedAt
	if err := e.Stop(ctxTimeout(t, time.Minute), project, nil); err != nil {
		t.Fatal(err)
	}
	running := func() string {
		t.Helper()
		cs, err := e.List(ctxTimeout(t, time.Minute), project)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range cs {
			if c.Running {
				names = append(names, c.Service)
			}
		}
		return strings.Join(names, ",")
	}
	if _, err := e.Start(ctxTimeout(t, time.Minute), project); err != nil {
		t.Fatal(err)
	}
	if got := running(); got != "web" {
		t.Errorf("after Start, running: %q, want web alone", got)
	}
	if again := inspectService(t, cli, project, "migrate").State.FinishedAt; again != finished {
		t.Errorf("Start ran the finished job again (finished at %s, then %s)", finished, again)
	}
	if _, err := e.StartSingletons(ctxTimeout(t, time.Minute), project); err != nil {
		t.Fatal(err)
	}
	if got := running(); got != "scheduler,web" {
		t.Errorf("after StartSingletons, running: %q, want scheduler,web", got)
	}
	if err := e.StopSingletons(ctxTimeout(t, time.Minute), project, nil); err != nil {
		t.Fatal(err)
	}
	if got := running(); got != "web" {
		t.Errorf("after StopSingletons, running: %q, want web", got)
	}
}

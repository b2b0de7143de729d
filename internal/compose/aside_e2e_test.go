//go:build e2e

package compose

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/docker/docker/api/types/container"
)

// TestSetAsidePutBack: setting a project aside frees its names for a new
// Up while its containers stay; a failed new version is removed and the
// set-aside ones come back under their own names, the running one running;
// or, once the new one serves, they are removed.
func TestSetAsidePutBack(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, _ := newEngine(t, project)
	port := testenv.FreePort(t)
	dir := writeProject(t, map[string]string{"compose.yml": `
services:
  web:
    image: ${APP_IMAGE}
    ports:
      - "127.0.0.1:${BLUEGREEN_PORT}:8080"
    environment:
      VERSION: ${VERSION}
  worker:
    image: ${APP_IMAGE}
    environment:
      MODE: worker
`})
	env := func(v string) map[string]string {
		return map[string]string{"APP_IMAGE": img, "BLUEGREEN_PORT": strconv.Itoa(port), "VERSION": v}
	}
	ctx := ctxTimeout(t, 2*time.Minute)
	old := byService(upProject(t, e, project, dir, env("v1")))
	zero := time.Duration(0)
	// The worker is kept stopped, the web one still runs (a staged color).
	if err := e.Docker.ContainerStop(ctx, old["worker"].ID, container.StopOptions{Timeout: new(int)}); err != nil {
		t.Fatal(err)
	}

	set, err := e.SetAside(ctx, project, "d1")
	if err != nil {
		t.Fatalf("SetAside: %v", err)
	}
	eq(t, "set aside", strconv.Itoa(len(set)), "2")
	if cs, err := e.List(ctx, project); err != nil || len(cs) != 0 {
		t.Fatalf("List after SetAside = %v, %v; want nothing", cs, err)
	}
	held, err := e.ListAside(ctx, project)
	if err != nil || len(held) != 2 {
		t.Fatalf("ListAside = %v, %v; want 2", held, err)
	}
	for _, c := range held {
		if c.Running {
			t.Errorf("%s still runs after SetAside", c.Name)
		}
	}
	eq(t, "web aside", held[0].Name, AsideName(old["web"].Name, "d1", true))
	eq(t, "worker aside", held[1].Name, AsideName(old["worker"].Name, "d1", false))
	if _, err := e.SetAside(ctx, project, "d2"); err == nil {
		t.Fatal("a second SetAside over set-aside containers succeeded")
	}

	// The new version takes the names and the port.
	upProject(t, e, project, dir, env("v2"))
	if _, err := e.PutBack(ctx, project); err == nil {
		t.Fatal("PutBack succeeded while the new version holds the names")
	}
	// It fails: removed, and the old version comes back.
	if err := e.Remove(ctx, project, &zero); err != nil {
		t.Fatal(err)
	}
	back, err := e.PutBack(ctx, project)
	if err != nil {
		t.Fatalf("PutBack: %v", err)
	}
	got := byService(back)
	eq(t, "web id", got["web"].ID, old["web"].ID)
	eq(t, "web name", got["web"].Name, old["web"].Name)
	eq(t, "worker id", got["worker"].ID, old["worker"].ID)
	if !got["web"].Running || got["worker"].Running {
		t.Errorf("after PutBack web running=%v, worker running=%v; want the web one running again and the worker kept stopped", got["web"].Running, got["worker"].Running)
	}
	if body := get(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/"); !strings.Contains(body, "version=v1") {
		t.Errorf("the put-back web answers %q, want v1", body)
	}

	// Set aside again; this time the new version serves, and the old
	// containers go.
	if _, err := e.SetAside(ctx, project, "d3"); err != nil {
		t.Fatal(err)
	}
	upProject(t, e, project, dir, env("v3"))
	removed, err := e.RemoveAside(ctx, project)
	if err != nil || len(removed) != 2 {
		t.Fatalf("RemoveAside = %v, %v; want the 2 old containers", removed, err)
	}
	for _, c := range removed {
		if _, err := e.Inspect(ctx, c.ID); !errors.Is(err, ErrNoSuchContainer) {
			t.Errorf("%s is still there after RemoveAside: %v", c.Name, err)
		}
	}
	if cs, _ := e.List(ctx, project); len(cs) != 2 {
		t.Errorf("the new version has %d containers after RemoveAside, want 2", len(cs))
	}
}

// TestDownRemovesSetAside: Down takes the whole project, containers set
// aside included, since they could not start without its networks.
func TestDownRemovesSetAside(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, _ := newEngine(t, project)
	dir := writeProject(t, map[string]string{"compose.yml": "services:\n  worker:\n    image: ${APP_IMAGE}\n    environment:\n      MODE: worker\n"})
	upProject(t, e, project, dir, map[string]string{"APP_IMAGE": img})
	ctx := ctxTimeout(t, time.Minute)
	if _, err := e.SetAside(ctx, project, "d1"); err != nil {
		t.Fatal(err)
	}
	zero := time.Duration(0)
	if err := e.Down(ctx, project, &zero); err != nil {
		t.Fatal(err)
	}
	if held, err := e.ListAside(context.Background(), project); err != nil || len(held) != 0 {
		t.Fatalf("ListAside after Down = %v, %v; want nothing", held, err)
	}
}

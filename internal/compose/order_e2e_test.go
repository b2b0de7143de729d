//go:build e2e

package compose

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// orderProject has four dependency levels and an independent service:
// db becomes healthy 2 s after it starts; migrate runs once db is healthy
// and exits 0; three replicas of app start once db is healthy and migrate
// has completed; sidecar starts once app has started; cache waits for
// nothing.
const orderProject = `
services:
  db:
    image: %[1]s
    environment: {READY_AFTER: 2s}
    healthcheck:
      test: ["CMD", "/probe", "http://127.0.0.1:8080/health"]
      interval: 300ms
      retries: 100
  migrate:
    image: %[1]s
    environment: {MODE: worker, EXIT_AFTER: 500ms, EXIT_CODE: "0"}
    depends_on:
      db: {condition: service_healthy}
  app:
    image: %[1]s
    environment: {MODE: worker}
    deploy: {replicas: 3}
    depends_on:
      db: {condition: service_healthy}
      migrate: {condition: service_completed_successfully}
  sidecar:
    image: %[1]s
    environment: {MODE: worker}
    depends_on:
      app: {condition: service_started}
  cache:
    image: %[1]s
    environment: {MODE: worker}
`

// TestUpAndDownKeepDependencyOrder reads the daemon's own event stream of
// an Up and a Down, in the order the daemon emitted it, and checks that
// starting the services of a level in parallel kept every depends_on
// condition: no dependent starts before its dependency is healthy,
// completed successfully or started, and Down stops and removes
// dependents before what they depend on. An independent service starts
// without waiting for the others.
func TestUpAndDownKeepDependencyOrder(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	dir := writeProject(t, map[string]string{"compose.yml": fmt.Sprintf(orderProject, img)})
	p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}

	rec := recordEvents(t, cli, project)
	cs, err := e.Up(ctxTimeout(t, 2*time.Minute), p)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	if len(cs) != 7 {
		t.Fatalf("Up returned %d containers, want 7", len(cs))
	}
	up := rec.stop()
	t.Logf("Up events:\n%s", up)

	dbHealthy := up.first("db", "health_status: healthy")
	migrateDone := up.first("migrate", "die")
	if dbHealthy < 0 || migrateDone < 0 {
		t.Fatalf("no healthy event of db (%d) or no exit of migrate (%d)", dbHealthy, migrateDone)
	}
	if code := up[migrateDone].exitCode; code != "0" {
		t.Fatalf("migrate exited %s", code)
	}
	before(t, up, "migrate start (service_healthy on db)", dbHealthy, up.all("migrate", "start"))
	appStarts := up.all("app", "start")
	if len(appStarts) != 3 {
		t.Fatalf("want 3 app replicas started, got %d", len(appStarts))
	}
	before(t, up, "app start (service_healthy on db)", dbHealthy, appStarts)
	before(t, up, "app start (service_completed_successfully on migrate)", migrateDone, appStarts)
	sidecar := up.all("sidecar", "start")
	for _, a := range appStarts {
		before(t, up, "sidecar start (service_started on app)", a, sidecar)
	}
	if c := up.first("cache", "start"); c < 0 || c > dbHealthy {
		t.Errorf("cache, which depends on nothing, started at event %d, not before db was healthy (event %d): it waited for another level", c, dbHealthy)
	}

	rec = recordEvents(t, cli, project)
	zero := time.Duration(0)
	if err := e.Down(ctxTimeout(t, time.Minute), project, &zero); err != nil {
		t.Fatalf("Down: %v", err)
	}
	down := rec.stop()
	t.Logf("Down events:\n%s", down)
	sidecarGone := down.all("sidecar", "destroy")
	appGone := down.all("app", "destroy")
	if len(sidecarGone) != 1 || len(appGone) != 3 {
		t.Fatalf("Down destroyed %d sidecar and %d app containers, want 1 and 3", len(sidecarGone), len(appGone))
	}
	before(t, down, "app stop (after its dependent sidecar is gone)", sidecarGone[0], down.all("app", "kill"))
	for _, a := range appGone {
		before(t, down, "db stop (after its dependent app is gone)", a, down.all("db", "kill"))
	}
	if len(down.all("db", "destroy")) != 1 || len(down.all("cache", "destroy")) != 1 {
		t.Errorf("Down left db or cache")
	}
}

// before fails the test unless event i comes before every event in later.
func before(t *testing.T, evs eventLog, what string, i int, later []int) {
	t.Helper()
	if len(later) == 0 {
		t.Errorf("%s: no such event", what)
	}
	for _, j := range later {
		if j < i {
			t.Errorf("%s: event %d (%s) came before event %d (%s)", what, j, evs[j], i, evs[i])
		}
	}
}

// event is one container event of the daemon: which service, what.
type event struct {
	service, action, exitCode, name string
}

func (e event) String() string { return e.name + " " + e.action }

// eventLog is the events in the order the daemon sent them.
type eventLog []event

func (l eventLog) String() string {
	var b strings.Builder
	for i, e := range l {
		fmt.Fprintf(&b, "  %2d %s\n", i, e)
	}
	return b.String()
}

func (l eventLog) all(service, action string) []int {
	var out []int
	for i, e := range l {
		if e.service == service && e.action == action {
			out = append(out, i)
		}
	}
	return out
}

func (l eventLog) first(service, action string) int {
	if all := l.all(service, action); len(all) > 0 {
		return all[0]
	}
	return -1
}

// eventRecorder collects a project's container events until stop.
type eventRecorder struct {
	cancel context.CancelFunc
	done   chan eventLog
}

// recordEvents subscribes to the project's container events; it returns
// once the daemon has accepted the subscription, so that no event of what
// follows is missed.
func recordEvents(t *testing.T, cli *client.Client, project string) *eventRecorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	since := time.Now().Add(-time.Second) // events since just before: the subscription races nothing
	msgs, errs := cli.Events(ctx, events.ListOptions{
		Since:   fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Filters: filters.NewArgs(filters.Arg("type", "container"), filters.Arg("label", LabelProject+"="+project)),
	})
	r := &eventRecorder{cancel: cancel, done: make(chan eventLog, 1)}
	seen := map[string]bool{}
	go func() {
		var log eventLog
		for {
			select {
			case m := <-msgs:
				key := fmt.Sprintf("%s %s %d", m.Actor.ID, m.Action, m.TimeNano)
				if seen[key] || strings.HasPrefix(string(m.Action), "exec_") {
					continue
				}
				seen[key] = true
				log = append(log, event{
					service:  m.Actor.Attributes[LabelService],
					action:   string(m.Action),
					exitCode: m.Actor.Attributes["exitCode"],
					name:     m.Actor.Attributes["name"],
				})
			case <-errs:
				r.done <- log
				return
			}
		}
	}()
	return r
}

// stop waits a moment for the last events to arrive and returns them all.
func (r *eventRecorder) stop() eventLog {
	time.Sleep(500 * time.Millisecond)
	r.cancel()
	return <-r.done
}

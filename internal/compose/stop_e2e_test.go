//go:build e2e

package compose

import (
	"fmt"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
)

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

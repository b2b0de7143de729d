package deploy_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
)

// TestRolesPruneNeverRemovesASharedImage: db:1 was pulled by a deploy
// that still ran the database in each color; once db is shared, pruning
// never tries to remove its image.
func TestRolesPruneNeverRemovesASharedImage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.file("docker-compose.yml", `services:
  web:
    image: app:${VERSION:-v1}
    ports: ["${BLUEGREEN_PORT}:8080"]
  db:
    image: db:1
`)
	h.version("v1", nil)
	withRoles(h)
	h.eng.DropImage("db:1") // so that its container alone holds it
	for _, v := range []string{"v2", "v3", "v4"} {
		h.version(v, map[string]string{"retain-images": "1", "keep-previous": "false"})
	}
	for _, c := range h.eng.Calls() {
		if c.Method == "RemoveImage" && c.Arg == "db:1" {
			t.Errorf("pruning tried to remove the shared db's image")
		}
	}
	require.True(t, h.eng.HasImage("db:1"))
}

// TestRolesStopGraceCoversSingletons: the stop of the old color waits as
// long as the longest stop_grace_period of its services, its singletons'
// included.
func TestRolesStopGraceCoversSingletons(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.cleanup = time.Millisecond
	var stopped atomic.Bool
	h.eng.Hook = func(ctx context.Context, m, a string) error {
		if (m == "Remove" || m == "Stop") && a == "app-blue" {
			stopped.Store(true)
			deadline, ok := ctx.Deadline()
			if !ok || time.Until(deadline) < 6*time.Minute {
				t.Errorf("the old color's stop is bounded by %s, less than the scheduler's 7m stop_grace_period", time.Until(deadline))
			}
		}
		return nil
	}
	h.must(nil)
	require.True(t, stopped.Load(), "the old color was stopped")
}

// TestRolesReported: the summary, the roles output, the history and mode
// status say what ran once and what ran per color.
func TestRolesReported(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	withRoles(h)
	res := h.must(nil)
	summary := res.Summary("app")
	require.Contains(t, summary, "| Shared services | `created db` |")
	require.Contains(t, summary, "| Jobs run | `migrate exited with code 0` |")
	require.Contains(t, summary, "| Singletons | `scheduler` |")
	require.Contains(t, res.Outputs(), [2]string{"roles", `{"shared":["created db"],"jobs":["migrate exited with code 0"],"singletons":["scheduler"]}`})
	entries, _, err := h.hist.Entries()
	require.NoError(t, err)
	require.NotNil(t, entries[len(entries)-1].Roles)
	require.Equal(t, []string{"migrate exited with code 0"}, entries[len(entries)-1].Roles.Jobs)

	h.rec = &deploytest.Reporter{}
	status := h.must(map[string]string{"mode": "status"})
	require.Equal(t, []string{"db running (app-shared-db-1)"}, status.Roles.Shared)
	require.Contains(t, h.rec.String(), "shared services (app-shared, once per host): db running")

	plain := newHarness(t)
	require.Contains(t, plain.must(nil).Outputs(), [2]string{"roles", ""}, "an app without roles has an empty roles output")
}

// TestRolesFailedSingletonIsRecordedRolledBack: a deploy switched back
// because a singleton failed is recorded as rolled back, as one switched
// back by the observation window.
func TestRolesFailedSingletonIsRecordedRolledBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.eng.SingletonsExit("app-green")
	_, err := h.run(context.Background(), nil)
	require.Error(t, err)
	entries, _, err := h.hist.Entries()
	require.NoError(t, err)
	require.Equal(t, "rolled-back", string(entries[len(entries)-1].Result))
}

// TestRolesRollbackToADeployRunsItsSingletonImages: a rollback to a
// deploy id starts the singletons from the images that deploy recorded,
// not from the compose file's current ones.
func TestRolesRollbackToADeployRunsItsSingletonImages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	withRoles(h)
	v1 := h.version("v1", nil) // blue
	h.version("v2", nil)       // green
	h.version("v3", nil)       // blue
	res := h.must(map[string]string{"mode": "rollback", "to": v1.DeployID})
	require.Equal(t, color.Green, res.Active)
	sched := h.eng.RunningOf("app-green", "scheduler")
	require.Len(t, sched, 1)
	require.Equal(t, deploytest.ImageID("sched:v1"), sched[0].ImageID, "the scheduler runs v1's image")
}

//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/fleet"
)

// fleetJobsCompose is the fleet's app with a migration job the web
// service waits for. The job is the test app told to exit after a while,
// with MIGRATE_EXIT (0 unless an env-file says otherwise).
const fleetJobsCompose = `services:
  migrate:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION}
      EXIT_AFTER: 2s
      EXIT_CODE: ${MIGRATE_EXIT:-0}
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    ports:
      - "${BLUEGREEN_PORT}:8080"
    depends_on:
      migrate:
        condition: service_completed_successfully
`

// TestFleetJobs: on two hosts at once (max-parallel 2), each of two
// rollouts runs the migration once, on the first host, and it has exited
// before the second host creates its web container; the second host has
// no migration container at all and says once where it ran. A third
// rollout whose migration exits 1 fails on the first host, naming the job,
// its exit code and the host, and creates nothing on the second.
func TestFleetJobs(t *testing.T) {
	start := time.Now()
	e := newFleetEnv(t, 2)
	t.Logf("two hosts up in %s", time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, "docker-compose.yml"), []byte(fleetJobsCompose), 0o644))
	first, second := e.fleet.hosts[0], e.fleet.hosts[1]
	parallel := map[string]string{"max-parallel": "2"}
	skipLine := e.names[1] + " | job migrate is not run on this host: it ran on " + e.names[0] + " in this rollout"

	for _, v := range []string{"v1", "v2"} {
		r := e.deploy(ctx, t, v, e.version(v, nil), parallel, nil)
		require.Equal(t, 0, r.code, r.out)
		t.Logf("rollout %s on two hosts in %s", v, r.took.Round(time.Millisecond))
		e.requireServes(v)
		ids := hostsResult(t, r)
		require.Equal(t, []fleet.Status{fleet.StatusDeployed, fleet.StatusDeployed}, results(ids))

		// The first host ran this rollout's migration once, to exit 0.
		var ran []container.InspectResponse
		for _, c := range e.containersOf(t, first, "migrate") {
			if c.Config.Labels[compose.LabelDeployID] == ids[0].DeployID {
				ran = append(ran, c)
			}
		}
		require.Len(t, ran, 1, "%s: one migration container of deploy %s on the first host", v, ids[0].DeployID)
		require.Equal(t, "exited", ran[0].State.Status)
		require.Zero(t, ran[0].State.ExitCode)
		// The second host never runs one, and started only once it had
		// exited.
		require.Empty(t, e.containersOf(t, second, "migrate"), "%s: the second host ran the migration", v)
		var web []container.InspectResponse
		for _, c := range e.containersOf(t, second, "web") {
			if c.Config.Labels[compose.LabelDeployID] == ids[1].DeployID {
				web = append(web, c)
			}
		}
		require.Len(t, web, 1, "%s: the second host's web container of deploy %s", v, ids[1].DeployID)
		finished, err := time.Parse(time.RFC3339Nano, ran[0].State.FinishedAt)
		require.NoError(t, err)
		created, err := time.Parse(time.RFC3339Nano, web[0].Created)
		require.NoError(t, err)
		require.True(t, created.After(finished), "%s: the second host created its web container at %s, before the migration exited at %s", v, created, finished)

		require.Equal(t, 1, strings.Count(r.out, "Output of job migrate"), "%s: one migration's output in the log", v)
		require.Equal(t, 1, strings.Count(r.out, skipLine), "%s: the second host says once where the job ran:\n%s", v, r.out)
	}

	// A migration that fails: the rollout stops on the first host before
	// any switch, and the second host is not touched.
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, "migrate-fails.env"), []byte("MIGRATE_EXIT=1\n"), 0o644))
	before := e.containerIDs(t, second)
	r := e.deploy(ctx, t, "v3", e.version("v3", nil), map[string]string{"max-parallel": "2", "env-file": "migrate-fails.env"}, nil)
	t.Logf("failing rollout v3 in %s", r.took.Round(time.Millisecond))
	require.Equal(t, 1, r.code, r.out)
	require.Contains(t, r.out, "::error title=Deploy failed on "+strings.ReplaceAll(e.names[0], ":", "%3A")+"%3A Start ")
	require.Contains(t, r.out, "service migrate exited with code 1")
	require.Equal(t, []fleet.Status{fleet.StatusFailed, fleet.StatusNotStarted}, results(hostsResult(t, r)))
	require.Equal(t, before, e.containerIDs(t, second), "the second host's containers are as they were")
	e.requireServes("v2")
	e.requireNoHelpers()
	t.Logf("TestFleetJobs took %s", time.Since(start).Round(time.Millisecond))
}

// containersOf inspects every container of the app's service on h, in
// either color.
func (e *fleetEnv) containersOf(t *testing.T, h *simHost, service string) []container.InspectResponse {
	t.Helper()
	ctx := context.Background()
	list, err := h.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.docker.compose.service="+service))})
	require.NoError(t, err)
	var out []container.InspectResponse
	for _, c := range list {
		if p := c.Labels["com.docker.compose.project"]; p != e.project+"-blue" && p != e.project+"-green" {
			continue
		}
		ins, err := h.docker.ContainerInspect(ctx, c.ID)
		require.NoError(t, err)
		out = append(out, ins)
	}
	return out
}

// containerIDs lists the ids of every container of the app's colors on h.
func (e *fleetEnv) containerIDs(t *testing.T, h *simHost) []string {
	t.Helper()
	var ids []string
	for _, service := range []string{"migrate", "web"} {
		for _, c := range e.containersOf(t, h, service) {
			ids = append(ids, c.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

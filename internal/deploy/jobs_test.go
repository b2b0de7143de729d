package deploy_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
)

// schedulerWaitsForMigrate is rolesCompose with the singleton waiting for
// the job too, as a scheduler that needs the new schema does.
var schedulerWaitsForMigrate = strings.Replace(rolesCompose, "    stop_grace_period: 7m\n",
	"    stop_grace_period: 7m\n    depends_on:\n      migrate: {condition: service_completed_successfully}\n", 1)

// servicesOf lists, for each project Up was given, its services and what
// each waits for.
func servicesOf(h *harness) []string {
	var out []string
	for _, p := range h.eng.UpProjects() {
		for _, name := range p.ServiceNames() {
			deps := slices.Sorted(func(yield func(string) bool) {
				for d := range p.Services[name].DependsOn {
					if !yield(d) {
						return
					}
				}
			})
			out = append(out, p.Name+"/"+name+" waits for ["+strings.Join(deps, " ")+"]")
		}
	}
	return out
}

// TestJobsLeftOutOnAFleetHost: a fleet's host after the first starts its
// color without the jobs, its services (the singletons too) no longer
// waiting for them, and says once for each job where it ran.
func TestJobsLeftOutOnAFleetHost(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.file("docker-compose.yml", schedulerWaitsForMigrate)
	h.rec = &deploytest.Reporter{}
	h.jobs = deploy.Jobs{Skip: true, RanOn: "deploy@10.0.1.11:22"}
	res, err := h.run(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, []string{
		"app-green/web waits for [db]",
		"app-green/worker waits for []",
		"app-green/scheduler waits for []",
	}, servicesOf(h), "the color and its singletons come up without the job")
	require.Len(t, h.eng.RunningOf("app-green", "web"), 1)
	require.Len(t, h.eng.RunningOf("app-green", "scheduler"), 1)
	require.Empty(t, res.Roles.Jobs, "no job ran here")
	said := 0
	for _, l := range h.rec.Of("info") {
		if l == "job migrate is not run on this host: it ran on deploy@10.0.1.11:22 in this rollout; the services that wait for it start as if it had completed" {
			said++
		}
	}
	require.Equal(t, 1, said, "the log says once where the job ran:\n%s", h.rec.String())
	require.NotContains(t, h.rec.String(), "Output of job")
	// migrate waits for db, a database each host runs for itself.
	require.Equal(t, []string{"job migrate waits for the shared service db, which runs once per host, but with hosts the job runs once per rollout, on deploy@10.0.1.11:22 only: this host's db did not get it. Run such a database once, where every host reaches it, rather than as a shared service on each host"},
		h.rec.Of("warning"))
}

// TestJobsLeftOutWarnOnlyOfSharedServices: a job that waits for no shared
// service (its database runs elsewhere) is left out without a warning.
func TestJobsLeftOutWarnOnlyOfSharedServices(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.file("docker-compose.yml", strings.Replace(rolesCompose, "    depends_on:\n      db: {condition: service_started}\n  worker:", "  worker:", 1))
	h.rec = &deploytest.Reporter{}
	h.jobs = deploy.Jobs{Skip: true, RanOn: "h1"}
	_, err := h.run(context.Background(), nil)
	require.NoError(t, err)
	require.Contains(t, h.rec.String(), "job migrate is not run on this host: it ran on h1 in this rollout")
	require.Empty(t, h.rec.Of("warning"))
}

// TestJobsRollbackFromTheHistory: a rollback with no kept color redeploys
// the last good deploy; on one host with its job, as before; on a fleet
// (Skip without RanOn) without it, saying why.
func TestJobsRollbackFromTheHistory(t *testing.T) {
	t.Parallel()
	for _, fleet := range []bool{false, true} {
		t.Run(map[bool]string{false: "one host", true: "fleet"}[fleet], func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			withRoles(h)
			noKeep := map[string]string{"keep-previous": "false"}
			h.version("v1", noKeep) // blue
			h.version("v2", noKeep) // green; blue removed
			ups := len(h.eng.UpProjects())
			h.rec = &deploytest.Reporter{}
			h.jobs = deploy.Jobs{Skip: fleet}
			back := h.must(map[string]string{"mode": "rollback"})
			require.True(t, back.RolledBack)
			var migrated bool
			for _, p := range h.eng.UpProjects()[ups:] {
				_, has := p.Services["migrate"]
				migrated = migrated || has
			}
			require.Equal(t, !fleet, migrated, "the rollback ran the job")
			said := strings.Contains(h.rec.String(), "job migrate is not run: a rollback on a fleet runs no job")
			require.Equal(t, fleet, said, h.rec.String())
			require.Empty(t, h.rec.Of("warning"))
		})
	}
}

// TestJobsRunOnOneHost: without Skip (one host, or the fleet's
// first) the job runs before the services that wait for it, as before.
func TestJobsRunOnOneHost(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.file("docker-compose.yml", schedulerWaitsForMigrate)
	res, err := h.run(context.Background(), nil)
	require.NoError(t, err)
	require.Contains(t, servicesOf(h), "app-green/migrate waits for [db]")
	require.Contains(t, servicesOf(h), "app-green/web waits for [db migrate]")
	require.Contains(t, servicesOf(h), "app-green/scheduler waits for [migrate]")
	require.Equal(t, []string{"migrate exited with code 0"}, res.Roles.Jobs)
}

// TestJobsSettledOnceTheJobsExited: Settled is called once, when the new
// color's job has exited 0 and before anything is switched.
func TestJobsSettledOnceTheJobsExited(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	before, _ := h.sw.Include()
	var at [][]string
	h.jobs.Settled = func() {
		var jobs []string
		cs, _ := h.eng.List(context.Background(), "app-green")
		for _, c := range cs {
			if c.Role == compose.Job.String() {
				jobs = append(jobs, c.Service+" "+c.State)
			}
		}
		include, _ := h.sw.Include()
		at = append(at, append(jobs, "serves "+map[bool]string{true: "blue", false: "green"}[string(include) == string(before)]))
	}
	_, err := h.run(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"migrate exited", "serves blue"}}, at)
}

// TestJobsFailedNeverSettle: a job that exits 1 fails the deploy, and
// Settled is never called: a fleet starts no other host.
func TestJobsFailedNeverSettle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.eng.JobExits("migrate", 1)
	settled := 0
	h.jobs.Settled = func() { settled++ }
	_, err := h.run(context.Background(), nil)
	require.ErrorIs(t, err, deploy.ErrJobFailed)
	require.Zero(t, settled)
}

// TestJobsSettledAfterPreflightWithoutJobs: with no job in either color,
// Settled is called once the files are checked, before anything starts;
// Skip then says nothing.
func TestJobsSettledAfterPreflightWithoutJobs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.rec = &deploytest.Reporter{}
	var at [][]string
	h.jobs = deploy.Jobs{Skip: true, RanOn: "elsewhere", Settled: func() { at = append(at, deploytest.Strings(h.eng.Calls())) }}
	_, err := h.run(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, at, 1)
	for _, c := range at[0] {
		require.False(t, strings.HasPrefix(c, "Up ") || strings.HasPrefix(c, "EnsureImages "), "settled after %s", c)
	}
	require.NotContains(t, h.rec.String(), "elsewhere")
}

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
	h.jobs = deploy.Jobs{SkipBecause: "it ran on deploy@10.0.1.11:22 in this rollout"}
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
}

// TestJobsRunOnOneHost: without SkipBecause (one host, or the fleet's
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
// SkipBecause then says nothing.
func TestJobsSettledAfterPreflightWithoutJobs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.rec = &deploytest.Reporter{}
	var at [][]string
	h.jobs = deploy.Jobs{SkipBecause: "it ran elsewhere", Settled: func() { at = append(at, deploytest.Strings(h.eng.Calls())) }}
	_, err := h.run(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, at, 1)
	for _, c := range at[0] {
		require.False(t, strings.HasPrefix(c, "Up ") || strings.HasPrefix(c, "EnsureImages "), "settled after %s", c)
	}
	require.NotContains(t, h.rec.String(), "it ran elsewhere")
}

package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
)

// rolesCompose is an app with every role: the web service, a shared
// database, a migration job, a worker and a singleton scheduler.
const rolesCompose = `services:
  web:
    image: app:${VERSION:-v1}
    ports: ["${BLUEGREEN_PORT}:8080"]
    depends_on:
      migrate: {condition: service_completed_successfully}
      db: {condition: service_started}
  migrate:
    image: app:${VERSION:-v1}
    depends_on:
      db: {condition: service_started}
  worker:
    image: app:${VERSION:-v1}
  scheduler:
    image: sched:${VERSION:-v1}
    stop_grace_period: 7m
  db:
    image: db:${DB_VERSION:-1}
    volumes: [data:/data]
volumes:
  data: {}
`

// withRoles makes the harness deploy rolesCompose, db shared and the
// scheduler a singleton by the inputs.
func withRoles(h *harness) map[string]string {
	h.file("docker-compose.yml", rolesCompose)
	h.inputs["shared-services"] = "db"
	h.inputs["singleton-services"] = "scheduler"
	return nil
}

// liveWithRoles makes c the live color of the roles app, its scheduler
// running, and the shared db running.
func liveWithRoles(h *harness, c color.Color) {
	withRoles(h)
	p := "app-" + c.String()
	h.eng.RunRole(p, "web", "app:v0", compose.Colored)
	h.eng.RunRole(p, "worker", "app:v0", compose.Colored)
	h.eng.RunRole(p, "scheduler", "sched:v0", compose.Singleton)
	h.eng.RunRole("app-shared", "db", "db:1", compose.Shared)
	h.sw.SetInclude([]byte(fmt.Sprintf("set $service_url http://127.0.0.1:%d;\n", h.apps[c].port)))
}

// schedulers counts the running schedulers of both colors.
func schedulers(h *harness) int {
	return len(h.eng.RunningOf("app-blue", "scheduler")) + len(h.eng.RunningOf("app-green", "scheduler"))
}

// neverTwoSchedulers fails t when, at any call the deploy makes to Docker
// or nginx, both colors run a scheduler.
func neverTwoSchedulers(t *testing.T, h *harness) {
	var mu sync.Mutex
	check := func(_ context.Context, m, a string) error {
		mu.Lock()
		defer mu.Unlock()
		if n := schedulers(h); n > 1 {
			t.Errorf("%d schedulers run at once (at %s %s)", n, m, a)
		}
		return nil
	}
	h.eng.Hook = check
	h.sw.Hook = check
}

// requireSharedUntouched fails t when the deploy did anything to the shared
// project but make its images present and converge it.
func requireSharedUntouched(t *testing.T, h *harness) {
	t.Helper()
	for _, c := range h.eng.Calls() {
		if c.Arg == "app-shared" && c.Method != "Converge" && c.Method != "EnsureImages" {
			t.Errorf("the deploy called %s on the shared project", c)
		}
	}
}

func upCalls(h *harness) []string {
	var out []string
	for _, c := range deploytest.Strings(h.eng.Calls()) {
		if strings.HasPrefix(c, "Up ") || strings.HasPrefix(c, "Converge ") || strings.HasPrefix(c, "StopSingletons ") || strings.HasPrefix(c, "StartSingletons ") {
			out = append(out, c)
		}
	}
	return out
}

// TestRolesFirstDeploy: the shared db is converged before the color, the
// job's output is shown, and the scheduler starts only after the switch.
func TestRolesFirstDeploy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	withRoles(h)
	h.rec = &deploytest.Reporter{}
	h.sw.Hook = func(_ context.Context, m, _ string) error {
		if m == "Switch" && schedulers(h) > 0 {
			t.Error("a scheduler runs before the switch")
		}
		return nil
	}
	res, err := h.run(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, []string{"Converge app-shared", "Up app-blue", "Up app-blue"}, upCalls(h), "the color, then its singletons")
	require.Len(t, h.eng.RunningOf("app-blue", "scheduler"), 1, "the scheduler runs after the deploy")
	require.Len(t, h.eng.RunningOf("app-shared", "db"), 1)
	assert.Equal(t, []string{"created db"}, res.Roles.Shared)
	assert.Equal(t, []string{"migrate exited with code 0"}, res.Roles.Jobs)
	assert.Equal(t, []string{"scheduler"}, res.Roles.Singletons)
	kinds := []deploy.PhaseKind{}
	for _, p := range res.Phases {
		kinds = append(kinds, p.Kind)
	}
	require.Equal(t, []deploy.PhaseKind{deploy.PhasePreflight, deploy.PhaseLock, deploy.PhaseFind, deploy.PhaseStart, deploy.PhaseHealth, deploy.PhaseSwitch, deploy.PhaseSingletons, deploy.PhaseDrain}, kinds)
	require.Contains(t, h.rec.String(), "block Output of job migrate (blue)")
	require.Equal(t, "sched:v1", res.Images["scheduler"].Ref, "the history records the singleton's image")
	require.True(t, res.Images["scheduler"].Pulled)
	var calls []string
	for _, c := range deploytest.Strings(h.eng.Calls()) {
		if strings.HasPrefix(c, "EnsureImages ") || strings.HasPrefix(c, "Up ") {
			calls = append(calls, c)
		}
	}
	require.Equal(t, []string{"EnsureImages app-blue", "EnsureImages app-blue", "EnsureImages app-shared", "Up app-blue", "Up app-blue"}, calls,
		"the singletons' images are made present with the color's, before anything starts")
	requireSharedUntouched(t, h)
}

// TestRolesSecondDeployHandsOverTheScheduler: blue's scheduler stops
// before green's starts, and at no call do both run; the shared db is
// left alone, container and all.
func TestRolesSecondDeployHandsOverTheScheduler(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.rec = &deploytest.Reporter{}
	db := h.eng.RunningOf("app-shared", "db")[0].ID
	neverTwoSchedulers(t, h)
	res, err := h.run(context.Background(), map[string]string{"observe-seconds": "0.05"})
	require.NoError(t, err)
	require.Equal(t, []string{"Converge app-shared", "Up app-green", "StopSingletons app-blue", "Up app-green"}, upCalls(h))
	require.Len(t, h.eng.RunningOf("app-green", "scheduler"), 1)
	require.Equal(t, db, h.eng.RunningOf("app-shared", "db")[0].ID, "the shared db is the same container")
	assert.Equal(t, []string{"db unchanged"}, res.Roles.Shared)
	require.Contains(t, h.rec.String(), "shared service db left alone")
	requireSharedUntouched(t, h)
	assert.Equal(t, []string{"app-blue default"}, h.eng.SingletonStops(), "without stop-timeout, the scheduler's own stop_grace_period")
}

// TestRolesStopTimeoutStopsTheSingletons: stop-timeout bounds the old
// scheduler's stop as it bounds the old color's.
func TestRolesStopTimeoutStopsTheSingletons(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	_, err := h.run(context.Background(), map[string]string{"observe-seconds": "0.05", "stop-timeout": "3s"})
	require.NoError(t, err)
	assert.Equal(t, []string{"app-blue 3s"}, h.eng.SingletonStops())
}

// TestRolesChangedSharedDefinitionIsRecreatedAndSaid: a shared service
// whose definition changed is recreated, and the log says why.
func TestRolesChangedSharedDefinitionIsRecreatedAndSaid(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.rec = &deploytest.Reporter{}
	h.env["DB_VERSION"] = "2"
	res, err := h.run(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"recreated db: its image changed"}, res.Roles.Shared)
	require.Contains(t, h.rec.String(), "shared service: recreated db: its image changed")
}

// TestRolesFailedJobFailsBeforeTheSwitch: a migration that exits 1 fails
// the deploy in its start, naming the job and its exit code, with its
// output in a group of its own; nothing is switched, the rest of the new
// color never starts, and the shared db is not touched.
func TestRolesFailedJobFailsBeforeTheSwitch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.rec = &deploytest.Reporter{}
	h.eng.LogText = "applying 0042_add_column\nERROR: column exists\n"
	h.eng.JobExits("migrate", 1)
	before, _ := h.sw.Include()
	_, err := h.run(context.Background(), nil)
	require.Error(t, err)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, deploy.PhaseStart, pe.Kind)
	require.ErrorIs(t, err, deploy.ErrJobFailed)
	require.Contains(t, err.Error(), "service migrate exited with code 1")
	require.Contains(t, h.rec.String(), "block Output of job migrate (green)\napplying 0042_add_column\nERROR: column exists")
	after, _ := h.sw.Include()
	require.Equal(t, string(before), string(after), "nginx still serves blue")
	require.Equal(t, []string{"Converge app-shared", "Up app-green"}, upCalls(h), "green's singletons never started")
	require.Len(t, h.eng.RunningOf("app-blue", "scheduler"), 1, "blue's scheduler was never stopped")
	requireSharedUntouched(t, h)
}

// TestRolesSingletonThatFailsSwitchesBack: green's scheduler dies on
// start after the switch: nginx goes back to blue, green is removed and
// blue's scheduler runs again.
func TestRolesSingletonThatFailsSwitchesBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.eng.SingletonsExit("app-green")
	neverTwoSchedulers(t, h)
	before, _ := h.sw.Include()
	_, err := h.run(context.Background(), nil)
	require.Error(t, err)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, deploy.PhaseSingletons, pe.Kind)
	require.ErrorIs(t, err, deploy.ErrSingleton)
	require.Contains(t, pe.Undone, "Switched nginx back to blue")
	require.Contains(t, pe.Undone, "Started the singletons of blue again.")
	after, _ := h.sw.Include()
	require.Equal(t, string(before), string(after))
	require.Len(t, h.eng.RunningOf("app-blue", "scheduler"), 1, "blue's scheduler runs again")
	require.False(t, h.eng.Exists("app-green"))
	requireSharedUntouched(t, h)
}

// TestRolesRollbackHandsTheSchedulerBack: a rollback starts the kept color
// without its scheduler, switches, then stops the other color's scheduler
// and starts the kept one's.
func TestRolesRollbackHandsTheSchedulerBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	withRoles(h)
	_, err := h.run(context.Background(), nil) // blue
	require.NoError(t, err)
	_, err = h.run(context.Background(), nil) // green, blue kept
	require.NoError(t, err)
	require.Empty(t, h.eng.RunningOf("app-blue", "scheduler"))
	calls := len(h.eng.Calls())
	neverTwoSchedulers(t, h)
	h.sw.Hook = func(_ context.Context, m, a string) error {
		if m == "Switch" && len(h.eng.RunningOf("app-blue", "scheduler")) > 0 {
			t.Error("blue's scheduler started before the switch")
		}
		return nil
	}
	_, err = h.run(context.Background(), map[string]string{"mode": "rollback"})
	require.NoError(t, err)
	var got []string
	for _, c := range h.eng.Calls()[calls:] {
		if c.Method == "Start" || strings.Contains(c.Method, "Singletons") {
			got = append(got, c.String())
		}
	}
	require.Equal(t, []string{"Start app-blue", "StopSingletons app-green", "StartSingletons app-blue"}, got)
	require.Len(t, h.eng.RunningOf("app-blue", "scheduler"), 1)
	require.Len(t, h.eng.RunningOf("app-blue", "migrate"), 0, "a finished job is not run again")
	requireSharedUntouched(t, h)
}

// TestRolesSharedSurvivesEveryMode: stage, abort, a failed health check
// and promote never touch the shared project.
func TestRolesSharedSurvivesEveryMode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	_, err := h.run(context.Background(), map[string]string{"mode": "stage"})
	require.NoError(t, err)
	_, err = h.run(context.Background(), map[string]string{"mode": "abort"})
	require.NoError(t, err)
	h.apps[color.Green].status.Store(500)
	_, err = h.run(context.Background(), nil)
	require.Error(t, err)
	h.apps[color.Green].status.Store(200)
	_, err = h.run(context.Background(), map[string]string{"mode": "stage"})
	require.NoError(t, err)
	_, err = h.run(context.Background(), map[string]string{"mode": "promote"})
	require.NoError(t, err)
	require.Len(t, h.eng.RunningOf("app-shared", "db"), 1)
	require.Len(t, h.eng.RunningOf("app-green", "scheduler"), 1)
	requireSharedUntouched(t, h)
}

// TestRolesForeignPlatformFailsPreflight: a platform: that is not the
// daemon's is refused before anything is touched.
func TestRolesForeignPlatformFailsPreflight(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	withRoles(h)
	h.eng.ForeignPlatform(fmt.Errorf("failed to start project app-shared: %w: service \"db\": platform \"linux/s390x\" is not this Docker host's", compose.ErrForeignPlatform))
	_, err := h.run(context.Background(), nil)
	require.ErrorIs(t, err, deploy.ErrPreflight)
	require.Contains(t, err.Error(), "linux/s390x")
	require.Empty(t, h.eng.Calls())
}

// TestRolesUnknownSharedServiceNamesTheInput: a name in shared-services
// that is no service fails the preflight, naming the input and the
// services that exist.
func TestRolesUnknownSharedServiceNamesTheInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	withRoles(h)
	_, err := h.run(context.Background(), map[string]string{"shared-services": "db, postgres"})
	require.ErrorIs(t, err, deploy.ErrPreflight)
	require.Contains(t, err.Error(), `shared-services: "postgres" is not a service of the compose file; its services are: db, migrate, scheduler, web, worker`)
	require.Empty(t, h.eng.Calls())
}

// TestRolesSharedServiceDefinedPerColorIsRefused: a shared service that
// differs between the colors would be recreated by every deploy: refused
// in preflight, naming it.
func TestRolesSharedServiceDefinedPerColorIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	withRoles(h)
	h.file("docker-compose.yml", strings.Replace(rolesCompose, "    volumes: [data:/data]\n", "    volumes: [data:/data]\n    environment: {COLOR: \"${BLUEGREEN_COLOR}\"}\n", 1))
	_, err := h.run(context.Background(), nil)
	require.ErrorIs(t, err, deploy.ErrPreflight)
	require.Contains(t, err.Error(), "shared service db is defined differently for blue and green")
	require.Empty(t, h.eng.Calls())
}

// TestRolesFailedConvergeTouchesNothingElse: when the shared services
// cannot be converged, the deploy fails in its start before the idle
// color is touched, and blue keeps serving with its scheduler.
func TestRolesFailedConvergeTouchesNothingElse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	liveWithRoles(h, color.Blue)
	h.eng.Hook = failOn("Converge", "app-shared")
	before, _ := h.sw.Include()
	_, err := h.run(context.Background(), nil)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, deploy.PhaseStart, pe.Kind)
	require.Contains(t, err.Error(), "failed to converge the shared services (app-shared)")
	for _, c := range h.eng.Calls() {
		if c.Arg == "app-green" && c.Method != "EnsureImages" {
			t.Errorf("the deploy called %s after the shared services failed", c)
		}
	}
	after, _ := h.sw.Include()
	require.Equal(t, string(before), string(after))
	require.Len(t, h.eng.RunningOf("app-blue", "scheduler"), 1)
}

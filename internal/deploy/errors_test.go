package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// TestCancelledDeployCleanupIsBounded: a deploy cancelled while Docker
// stops answering ends within its clean-up bound and says what it could
// not undo, instead of hanging on the daemon forever.
func TestCancelledDeployCleanupIsBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.apps[color.Green].status.Store(503)
	ctx, cancel := context.WithCancelCause(context.Background())
	h.eng.Hook = func(hctx context.Context, m, a string) error {
		switch {
		case m == "Up":
			time.AfterFunc(50*time.Millisecond, func() { cancel(errors.New("the workflow was cancelled")) })
		case m == "Down" || m == "Logs":
			<-hctx.Done() // the daemon stopped answering
			return hctx.Err()
		}
		return nil
	}
	// Logs and Down each wait out the 200 ms bound; without it they would
	// wait for a daemon that never answers.
	type result struct{ err error }
	done := make(chan result, 1)
	go func() {
		_, err := h.run(ctx, map[string]string{"health-retries": "1000"})
		done <- result{err}
	}()
	var err error
	select {
	case r := <-done:
		err = r.err
	case <-time.After(30 * time.Second):
		t.Fatal("the clean-up after a cancel is not bounded: the deploy still runs after 30s")
	}
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, deploy.PhaseHealth, pe.Kind)
	assert.Contains(t, pe.Err.Error(), "the workflow was cancelled", "the cause of the cancel, not just context canceled")
	assert.Contains(t, pe.Undone, "Removing app-green ALSO failed")
	assert.Contains(t, pe.Undone, "docker compose -p app-green down")
}

// TestPhaseErrorSaysItOnce: the message a user reads names the phase once
// and carries no sentinel text of its own.
func TestPhaseErrorSaysItOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.apps[color.Green].status.Store(http.StatusServiceUnavailable)
	_, err := h.run(context.Background(), nil)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	msg := err.Error()
	assert.Equal(t, 1, countWord(msg, "Health check"), msg)
	assert.NotContains(t, msg, deploy.ErrUnhealthy.Error())
	assert.NotContains(t, msg, pe.Hint, "the hint travels beside the cause")
}

func countWord(s, w string) int {
	n := 0
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i:i+len(w)] == w {
			n++
		}
	}
	return n
}

// TestCheckReportsComposeProblemsBesideInputProblems: a run whose inputs
// are invalid still lists the compose files' problems, so that one run
// says everything.
func TestCheckReportsComposeProblemsBesideInputProblems(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	env := map[string]string{}
	for k, v := range h.inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	env["INPUT_HEALTH-RETRIES"] = "many"
	env["INPUT_SERVICE"] = "nope"
	cfg, err := config.Parse(func(k string) string { return env[k] }, h.dir)
	require.ErrorContains(t, err, "health-retries")
	d := &deploy.Deployer{Config: cfg, Report: report.New(&h.log, func(string) string { return "" })}
	problems := d.Check()
	require.Len(t, problems, 1, problems) // both colors share the file: said once
	assert.Contains(t, problems[0], `service "nope" is not defined`)
}

// TestImagesAreCheckedInPreflight: every service's final image must be a
// Docker reference before anything is touched.
func TestImagesAreCheckedInPreflight(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.env["VERSION"] = "v1\n  evil: x"
	_, err := h.run(context.Background(), nil)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, deploy.PhasePreflight, pe.Kind)
	assert.Contains(t, err.Error(), `service web: image "app:v1\n  evil: x" is not a Docker image reference`)
	assert.Empty(t, h.eng.Calls())
}

// TestColorsThatWouldCollideStopInPreflight: what would make blue and
// green collide when they run side by side is found before anything
// starts: a host port both colors publish.
func TestColorsThatWouldCollideStopInPreflight(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const collide = `services:
  web:
    image: app:v1
    ports: ["${BLUEGREEN_PORT}:8080"]
  cache:
    image: cache:1
    ports: ["6379:6379"]
`
	require.NoError(t, os.WriteFile(filepath.Join(h.dir, "collide.yml"), []byte(collide), 0o644))
	_, err := h.run(context.Background(), map[string]string{"compose-file": "collide.yml", "service": "web"})
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, deploy.PhasePreflight, pe.Kind)
	assert.Contains(t, err.Error(), "service cache publishes host port :6379/tcp in both colors")
	assert.Empty(t, h.eng.Calls())
}

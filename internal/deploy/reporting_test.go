package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
)

// groups checks that the reported phases open and close in turn, each
// closed before the next opens, and returns their names.
func groups(t *testing.T, rec *deploytest.Reporter) []string {
	t.Helper()
	var names []string
	open := ""
	for _, l := range rec.Lines() {
		switch l.Kind {
		case "phase":
			require.Empty(t, open, "phase %q opens while %q is open", l.Text, open)
			open = l.Text
			names = append(names, l.Text)
		case "end":
			require.Equal(t, open, l.Text, "the phase that ends is the one open")
			open = ""
		}
	}
	require.Empty(t, open, "every phase is closed")
	return names
}

// done returns the phases the log says were done, in order.
func done(rec *deploytest.Reporter) []string {
	var out []string
	for _, l := range rec.Of("info") {
		if name, _, ok := strings.Cut(strings.TrimPrefix(l, "    "), " done in "); ok && strings.HasPrefix(l, "    ") {
			out = append(out, name)
		}
	}
	return out
}

// TestPhasesAreReportedInGroups: the job log shows each phase as a group
// named for what it does, says each phase that succeeded was done, and
// never says so of the one that failed.
func TestPhasesAreReportedInGroups(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	health := func(c color.Color) string { return fmt.Sprintf("Health check http://%s/health", h.upstream(c)) }

	h.rec = &deploytest.Reporter{}
	h.must(nil)
	first := []string{"Preflight", "Lock", "Find the live color", "Start blue (app-blue)", health(color.Blue), "Switch nginx to blue", "Drain nginx's old workers"}
	assert.Equal(t, first, groups(t, h.rec), h.rec.String())
	assert.Equal(t, first, done(h.rec))
	assert.Empty(t, h.rec.Of("warning"), "a clean deploy warns of nothing")
	for _, l := range h.rec.Of("info") {
		assert.NotContains(t, l, "app-blue-web-1 on http", "a service without replicas is not listed replica by replica")
	}

	h.rec = &deploytest.Reporter{}
	h.must(nil)
	second := []string{"Preflight", "Lock", "Find the live color", "Start green (app-green)", health(color.Green), "Switch nginx to green", "Drain blue", "Stop blue (app-blue)"}
	assert.Equal(t, second, groups(t, h.rec), h.rec.String())
	assert.Equal(t, second, done(h.rec))

	h.rec = &deploytest.Reporter{}
	h.apps[color.Blue].status.Store(503)
	_, err := h.run(context.Background(), nil)
	require.Error(t, err)
	failed := []string{"Preflight", "Lock", "Find the live color", "Start blue (app-blue)", health(color.Blue)}
	assert.Equal(t, failed, groups(t, h.rec), h.rec.String())
	assert.Equal(t, failed[:4], done(h.rec), "the failed health check is not done")
}

// TestLockReleaseFailureIsAWarning: a lock that fails to release does not
// fail a deploy that is done, but the log says so.
func TestLockReleaseFailureIsAWarning(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.rec = &deploytest.Reporter{}
	h.locker.ReleaseErr = errInjected
	h.must(nil)
	assert.Equal(t, []string{"injected failure"}, h.rec.Of("warning"))
}

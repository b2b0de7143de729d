//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/runnerlog"
)

// TestHostileAppCannotSteerTheRunner: an app whose log lines and health
// check bodies are workflow commands fails its deploy; the job log, read
// the way the runner reads it, holds no command but the action's own, and
// the outputs are the action's.
func TestHostileAppCannotSteerTheRunner(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	r := f.deploy(map[string]string{"health-retries": "3"}, "VERSION=v2", "HOSTILE=1", "HEALTH_STATUS=500", "GITHUB_ACTIONS=true")
	require.Equal(t, 1, r.code, r.out)
	require.Contains(t, r.out, "pwned-after-stop", "the app's log is shown")
	require.Contains(t, r.out, "body-pwned", "the health check's answer is shown")

	for _, c := range runnerlog.Commands(r.out) {
		switch strings.ToLower(c.Name) {
		case "group", "endgroup", "stop-commands", "error", "warning", "add-mask":
		default:
			if !isToken(c.Name) {
				t.Errorf("the runner would run %q from line %q", c.Name, c.Line)
			}
		}
		for _, bad := range []string{"pwned", "evil"} {
			if strings.Contains(c.Data, bad) && c.Name != "error" {
				t.Errorf("a %s command carries the app's text: %q", c.Name, c.Line)
			}
		}
		if c.Name == "group" && strings.Contains(c.Data, "pwned") {
			t.Errorf("the app opened a group: %q", c.Line)
		}
	}
	for _, c := range runnerlog.Commands(r.out) {
		if c.Name == "error" {
			require.Contains(t, c.Properties["title"], "Deploy failed", "the only annotation is the action's: %q", c.Line)
		}
	}
	require.NotContains(t, r.out, "\x1b[2J", "terminal escapes are shown, not sent")
	require.Equal(t, "blue", r.outputs["active-color"])
	f.requireServes("v1", "blue")
}

// isToken reports whether name is a stop-commands token the action made
// (the line that resumes commands).
func isToken(name string) bool {
	if len(name) < 16 {
		return false
	}
	for _, r := range name {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

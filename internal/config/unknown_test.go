package config

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUnknownInputs(t *testing.T) {
	t.Parallel()
	got := UnknownInputs(map[string]string{
		"INPUT_HELTH-PATH":     "/up",
		"INPUT_HEALTH_PATH":    "/up",
		"INPUT_HEALTH-PATH":    "/up",
		"INPUT_BLUEPORT":       "9000",
		"INPUT_SOMETHING-ELSE": "x",
		"INPUT_":               "",
		"HELTH-PATH":           "not an input variable",
		"GITHUB_WORKSPACE":     "/w",
	})
	require.Equal(t, []string{
		`input "" is not an input of this action, so it is ignored: see the inputs in action.yml or the README`,
		`input "blueport" is not an input of this action, so it is ignored: did you mean blue-port?`,
		`input "health_path" is not an input of this action, so it is ignored: did you mean health-path?`,
		`input "helth-path" is not an input of this action, so it is ignored: did you mean health-path?`,
		`input "something-else" is not an input of this action, so it is ignored: see the inputs in action.yml or the README`,
	}, got)
	require.Empty(t, UnknownInputs(map[string]string{"INPUT_MODE": "deploy", "INPUT_COMPOSE-FILE": "a.yml"}))
}

func TestUnknownInputsCapped(t *testing.T) {
	t.Parallel()
	env := map[string]string{}
	for i := range 25 {
		env[fmt.Sprintf("INPUT_OTHER-TOOL-%02d", i)] = "x"
	}
	got := UnknownInputs(env)
	require.Len(t, got, maxUnknownWarned+1)
	require.Contains(t, got[0], `"other-tool-00"`)
	require.Equal(t, "15 more INPUT_* variables name no input of this action and are ignored", got[maxUnknownWarned])
}

func TestClosestInput(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"helth-path":      "health-path",
		"health-paht":     "health-path", // a transposition is two edits
		"heath-status":    "health-status",
		"mod":             "mode",
		"modes":           "mode",
		"to":              "to",
		"tp":              "to", // two letters: one edit away is near enough
		"xy":              "",
		"compose-files":   "compose-file",
		"nginx-conteiner": "nginx-container",
		"registry-pass":   "",
		"kubernetes":      "",
	} {
		require.Equal(t, want, closestInput(name), name)
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"abc", "abc", 0},
		{"kitten", "sitting", 3}, {"helth-path", "health-path", 1}, {"ab", "ba", 2}, {"flaw", "lawn", 2},
	} {
		require.Equal(t, tt.want, editDistance(tt.a, tt.b), "%q %q", tt.a, tt.b)
		require.Equal(t, tt.want, editDistance(tt.b, tt.a), "%q %q", tt.b, tt.a)
	}
}

// TestParseEnvironWarns: ParseEnviron puts the unknown inputs first in
// Config.Warnings, beside Parse's own, and still reports problems.
func TestParseEnvironWarns(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "docker-compose.yml")
	env := map[string]string{
		"GITHUB_WORKSPACE":          dir,
		"INPUT_NGINX-INCLUDE-PATH":  filepath.Join(dir, "x.inc"),
		"INPUT_HELTH-PATH":          "/up",
		"INPUT_HEALTH-INSECURE-TLS": "true",
	}
	cfg, err := ParseEnviron(env, dir)
	require.NoError(t, err)
	require.Len(t, cfg.Warnings, 2)
	require.Contains(t, cfg.Warnings[0], "did you mean health-path?")
	require.Contains(t, cfg.Warnings[1], "health-insecure-tls is true")
	require.Equal(t, "/", cfg.Health.Path, "the misspelt input is not read")

	env["INPUT_BLUE-PORT"] = "x"
	cfg, err = ParseEnviron(env, dir)
	require.ErrorIs(t, err, ErrInvalid)
	require.NotNil(t, cfg)
	require.Contains(t, cfg.Warnings[0], "did you mean health-path?", "warnings come with the problems")
}

package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readOutputFile parses $GITHUB_OUTPUT as the runner does: "name=value",
// or "name<<DELIMITER" followed by lines up to one equal to DELIMITER.
func readOutputFile(t *testing.T, data string) (map[string]string, []string) {
	t.Helper()
	out := map[string]string{}
	var delims []string
	lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		eq, hd := strings.Index(lines[i], "="), strings.Index(lines[i], "<<")
		if hd < 0 || (eq >= 0 && eq < hd) {
			k, v, ok := strings.Cut(lines[i], "=")
			require.True(t, ok, "line %q", lines[i])
			out[k] = v
			continue
		}
		name, delim := lines[i][:hd], lines[i][hd+2:]
		delims = append(delims, delim)
		var val []string
		for i++; ; i++ {
			require.Less(t, i, len(lines), "heredoc %s is never closed", delim)
			if lines[i] == delim {
				break
			}
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out, delims
}

func TestOutputHeredoc(t *testing.T) {
	t.Parallel()
	path := touch(t, filepath.Join(t.TempDir(), "output"))
	r := New(&bytes.Buffer{}, envOf(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": path}))
	values := map[string]string{
		"a":       "ghadelimiter_00000000000000000000000000000000",
		"b":       "_GitHubActionsFileCommandDelimeter_",
		"c_d-E9":  "x<<y=z",
		"empty":   "",
		"unicode": "é \u2028 ✓",
	}
	for _, name := range []string{"a", "b", "c_d-E9", "empty", "unicode"} {
		require.NoError(t, r.Output(name, values[name]))
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	got, delims := readOutputFile(t, string(data))
	require.Equal(t, values, got)
	require.Len(t, delims, len(values))
	seen := map[string]bool{}
	for _, d := range delims {
		require.Regexp(t, `^ghadelimiter_[0-9a-f]{32}$`, d)
		require.False(t, seen[d], "delimiter %s used twice", d)
		seen[d] = true
	}
}

func TestOutputRefuses(t *testing.T) {
	t.Parallel()
	path := touch(t, filepath.Join(t.TempDir(), "output"))
	for _, env := range []map[string]string{{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": path}, nil} {
		var buf bytes.Buffer
		r := New(&buf, envOf(env))
		for _, v := range []string{"a\nb", "a\rb", "x\nghadelimiter_1\nactive-color<<EOF\nevil\nEOF"} {
			require.ErrorContains(t, r.Output("active-color", v), "line break")
		}
		for _, name := range []string{"", "a b", "a<<b", "a=b", "a\nb", "ü"} {
			require.ErrorContains(t, r.Output(name, "v"), "failed to set output")
		}
		require.Empty(t, buf.String())
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Empty(t, data)
}

func TestOutputDoesNotCreateTheFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing")
	r := New(&bytes.Buffer{}, envOf(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": path}))
	require.ErrorContains(t, r.Output("a", "b"), "failed to set output a")
	require.NoFileExists(t, path)
}

func TestOutputByHand(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, envOf(nil))
	for _, v := range []string{"green", "", "http://127.0.0.1:8080/", " padded", `"quoted"`, "esc\x1b[2J", "::error::x", "a ##[b"} {
		require.NoError(t, r.Output("o", v))
	}
	require.Equal(t, strings.Join([]string{
		"o=green",
		"o=",
		"o=http://127.0.0.1:8080/",
		`o=" padded"`,
		`o="\"quoted\""`,
		`o="esc\x1b[2J"`,
		`o="::error::x"`,
		`o="a ##\x5bb"`,
		"",
	}, "\n"), buf.String())
}

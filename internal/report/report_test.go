package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// touch creates an empty file, as the runner does for GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY before the step starts.
func touch(t *testing.T, path string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	return path
}

func TestInActions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outFile, sumFile := touch(t, filepath.Join(dir, "out")), touch(t, filepath.Join(dir, "summary"))
	var buf bytes.Buffer
	r := New(&buf, envOf(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outFile, "GITHUB_STEP_SUMMARY": sumFile}))
	end := r.Phase("Start green")
	r.Infof("starting")
	end()
	r.Warnf("careful: %d", 1)
	r.Mask("s3cret")
	r.Block("Last log lines of web", "line 1\nline 2\n")
	r.Errorf("Deploy failed: Health check", "it broke")
	require.NoError(t, r.Output("active-color", "green"))
	require.NoError(t, r.Summary("### done\n"))

	got := buf.String()
	m := regexp.MustCompile(`::stop-commands::([0-9a-f]{32})\n`).FindStringSubmatch(got)
	require.NotNil(t, m, got)
	tok := m[1]
	for _, want := range []string{
		"::group::Start green\nstarting\n::endgroup::\n",
		"::warning::careful: 1\n",
		"::add-mask::s3cret\n",
		"::group::Last log lines of web\n::stop-commands::" + tok + "\nline 1\nline 2\n::" + tok + "::\n::endgroup::\n",
		"::error title=Deploy failed%3A Health check::it broke\n", // property values escape ":"
	} {
		require.Contains(t, got, want)
	}
	out, err := os.ReadFile(outFile)
	require.NoError(t, err)
	require.Contains(t, string(out), "active-color<<")
	require.Contains(t, string(out), "\ngreen\n")
	sum, err := os.ReadFile(sumFile)
	require.NoError(t, err)
	require.Equal(t, "### done\n\n", string(sum))
}

func TestPlain(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, envOf(nil))
	r.Phase("Preflight")()
	r.Warnf("careful")
	r.Mask("s3cret")
	r.Errorf("Lock", "busy")
	r.Block("logs", "a\nb")
	require.NoError(t, r.Output("active-color", "blue"))
	require.NoError(t, r.Summary("ignored"))
	require.Equal(t, strings.Join([]string{
		"==> Preflight",
		"warning: careful",
		"error: Lock: busy",
		"--- logs",
		"    a",
		"    b",
		"---",
		"active-color=blue",
		"",
	}, "\n"), buf.String())
}

func TestBlockSaysWhatItCut(t *testing.T) {
	t.Parallel()
	var text strings.Builder
	for i := range BlockMaxLines + 50 {
		fmt.Fprintf(&text, "line %d\n", i)
	}
	var buf bytes.Buffer
	New(&buf, envOf(nil)).Block("logs", text.String())
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Equal(t, "--- logs", lines[0])
	require.Equal(t, "    [50 earlier lines (390 bytes) not shown: only the last 200 lines and 64 KiB are printed]", lines[1])
	require.Equal(t, "    line 50", lines[2])
	require.Equal(t, "    line 249", lines[len(lines)-2])
	require.Equal(t, "---", lines[len(lines)-1])
}

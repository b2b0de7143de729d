package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFence(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"boom", "```\nboom\n```\n"},
		{"a\n```\nb\n", "````\na\n```\nb\n````\n"},
		{"x ````` y", "``````\nx ````` y\n``````\n"},
		{"cr\rline\x1b[1m", "```\ncr\\rline\\x1b[1m\n```\n"},
		{"crlf\r\nend\r\n", "```\ncrlf\nend\n```\n"},
	} {
		require.Equal(t, tt.want, Fence(tt.in), "%q", tt.in)
	}
}

func TestCodeSpan(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"nginx:1.27", "`nginx:1.27`"},
		{"a`b", "``a`b``"},
		{"``x", "``` ``x ```"},
		{"x`", "`` x` ``"},
		{" both ", "`  both  `"},
		{"  ", "`  `"},
		{"", "` `"},
		{"two\nlines\r\nhere", "`two lines here`"},
		{"<img src=x>", "`<img src=x>`"},
		{"esc\x1b", "`esc\\x1b`"},
	} {
		require.Equal(t, tt.want, CodeSpan(tt.in), "%q", tt.in)
	}
}

func TestTableCell(t *testing.T) {
	t.Parallel()
	require.Equal(t, `a\|b<br>c<br>d`, TableCell("a|b\nc\r\nd"))
	require.Equal(t, "`x\\|y`", TableCell(CodeSpan("x|y")))
	require.Equal(t, `nul\x00`, TableCell("nul\x00"))
}

func TestSummaryAppendsAndDoesNotCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := touch(t, filepath.Join(dir, "summary"))
	r := New(&bytes.Buffer{}, envOf(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": path}))
	require.NoError(t, r.Summary("one"))
	require.NoError(t, r.Summary("two"))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "one\ntwo\n", string(data))

	missing := filepath.Join(dir, "missing")
	r = New(&bytes.Buffer{}, envOf(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": missing}))
	require.ErrorContains(t, r.Summary("x"), "failed to write the job summary")
	require.NoFileExists(t, missing)
}

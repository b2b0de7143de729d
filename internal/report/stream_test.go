package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStreamByHand(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, envOf(nil))
	r.Mask("s3cret")
	w := r.Stream("Build web")
	_, _ = io.WriteString(w, "Step 1/2 : FROM scratch\n ---> \x1b[31mred\x1b[0m\nStep 2/2 : ARG TOKEN=s3cret\nprogress 10%\rprogress 100%\r\nno newline at the end")
	require.NoError(t, w.Close())
	require.Equal(t, "--- Build web\n"+
		"    Step 1/2 : FROM scratch\n"+
		`     ---> \x1b[31mred\x1b[0m`+"\n"+
		"    Step 2/2 : ARG TOKEN=***\n"+
		"    progress 10%\n"+
		"    progress 100%\n"+
		"    no newline at the end\n"+
		"---\n", buf.String())
}

func TestStreamInActionsIsFenced(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, envOf(map[string]string{"GITHUB_ACTIONS": "true"}))
	end := r.Phase("Start green")
	w := r.Stream("Build web")
	_, _ = io.WriteString(w, "::error::pwned\n##[group]x\n")
	require.NoError(t, w.Close())
	end()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Equal(t, "::group::Start green", lines[0])
	require.Equal(t, "::endgroup::", lines[1])
	require.Equal(t, "::group::Build web", lines[2])
	require.True(t, strings.HasPrefix(lines[3], "::stop-commands::"))
	token := strings.TrimPrefix(lines[3], "::stop-commands::")
	require.Equal(t, `\::error::pwned`, lines[4])
	require.Equal(t, `##\[group]x`, lines[5])
	require.Equal(t, "::"+token+"::", lines[6])
	require.Equal(t, "::endgroup::", lines[7])
	require.Len(t, lines, 8)
}

func TestStreamKeepsTheEnd(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := New(&buf, envOf(nil)).Stream("Build")
	total := StreamMaxLines + BlockMaxLines + 30
	for i := range total {
		fmt.Fprintf(w, "line %d\n", i)
	}
	_, _ = io.WriteString(w, strings.Repeat("x", StreamMaxLineLen+10))
	require.NoError(t, w.Close())
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Equal(t, "    line 0", lines[1])
	require.Equal(t, fmt.Sprintf("    line %d", StreamMaxLines-1), lines[StreamMaxLines])
	require.Equal(t, fmt.Sprintf("    [31 lines not shown: only the first %d and the last %d lines are printed]", StreamMaxLines, BlockMaxLines), lines[StreamMaxLines+1])
	require.Equal(t, fmt.Sprintf("    line %d", StreamMaxLines+31), lines[StreamMaxLines+2])
	require.True(t, strings.HasSuffix(lines[len(lines)-2], "… (10 more bytes)"))
	require.Equal(t, "---", lines[len(lines)-1])
}

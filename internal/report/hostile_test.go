package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/runnerlog"
)

// hostile are lines an attacker who controls a container's log, a health
// check's body or a lock record would print to take over the job.
var hostile = []string{
	"::set-output name=active-color::evil",
	"::add-mask::x",
	"::stop-commands::abc",
	"::error::pwned",
	"::abc::",
	"##[error]x",
	"foo\r::warning::bar",
	"  ::debug::x",
	"\t::debug::tab",
	"\x1b[2J\x1b[1;1H::error::repaint",
	"a\u2028::error::line separator",
	"\u2029::notice::paragraph separator",
	"\u0085::group::next line",
	"\u3000::error::ideographic space",
	"#\u00ad#[error]soft hyphen, ignored by ICU",
	"\u200b::error::zero width space",
	"\ufeff::error::byte order mark",
	"\x00::error::nul",
	"\u009b31m C1 CSI",
	"\xff\xfe not UTF-8",
	"%0A::error::encoded newline",
	"::endgroup::",
	"::ABC::",
	"s3cr3t in the log",
}

var hostileText = strings.Join(hostile, "\n")

// exercise calls every printing method with hostile text.
func exercise(t *testing.T, r *Reporter) {
	r.Mask("s3cr3t")
	end := r.Phase("Start " + hostileText)
	r.Infof("value: %s", hostileText)
	r.Infof("%s", hostileText)
	r.Warnf("warn: %s", hostileText)
	end()
	r.Block("Last log lines of "+Quote(hostileText), hostileText)
	r.Block("tiny", "::error::x")
	r.Errorf("Failed "+hostile[0], "err: %s", hostileText)
	for _, v := range hostile {
		if !strings.ContainsAny(v, "\r\n") {
			require.NoError(t, r.Output("image", v))
		}
	}
}

func TestHostileTextIssuesOnlyOurCommands(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	out := filepath.Join(t.TempDir(), "output")
	require.NoError(t, os.WriteFile(out, nil, 0o644))
	exercise(t, New(&buf, envOf(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": out})))
	log := buf.String()

	var names []string
	var tokens []string
	for _, c := range runnerlog.Commands(log) {
		names = append(names, c.Name)
		switch c.Name {
		case "add-mask":
			require.Equal(t, "s3cr3t", c.Data)
		case "stop-commands":
			require.Regexp(t, `^[0-9a-f]{32}$`, c.Data)
			tokens = append(tokens, c.Data)
		case "warning":
			require.True(t, strings.HasPrefix(c.Data, "warn: "), c.Data)
		case "error":
			require.True(t, strings.HasPrefix(c.Data, "err: "), c.Data)
			require.True(t, strings.HasPrefix(c.Properties["title"], "Failed "), c.Properties)
		}
	}
	require.Len(t, tokens, 2)
	require.NotEqual(t, tokens[0], tokens[1], "every block gets a fresh token")
	require.Equal(t, []string{
		"add-mask", "group", "warning", "endgroup",
		"group", "stop-commands", tokens[0], "endgroup",
		"group", "stop-commands", tokens[1], "endgroup",
		"error",
	}, names)

	// Defence in depth: without the stop-commands fences, the cleaned
	// lines inside them are still no commands.
	unfenced := log
	for _, tok := range tokens {
		unfenced = strings.ReplaceAll(unfenced, "::stop-commands::"+tok+"\n", "")
		unfenced = strings.ReplaceAll(unfenced, "::"+tok+"::\n", "")
	}
	names = nil
	for _, c := range runnerlog.Commands(unfenced) {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"add-mask", "group", "warning", "endgroup", "group", "endgroup", "group", "endgroup", "error"}, names)

	requireInert(t, log)
	require.Equal(t, 1, strings.Count(log, "s3cr3t"), "only the add-mask line holds the secret")
}

func TestHostileTextByHand(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	exercise(t, New(&buf, envOf(nil)))
	log := buf.String()
	require.Empty(t, runnerlog.Commands(log))
	requireInert(t, log)
	require.NotContains(t, log, "s3cr3t")
	require.Contains(t, log, "    \\::set-output name=active-color::evil\n", "block lines are indented and defused")
	require.Contains(t, log, "\nimage=\"::error::pwned\"\n", "an output that reads like a command is quoted")
}

// requireInert checks what no line we print may hold: "##[", a control or
// invisible character, or a line break other than \n.
func requireInert(t *testing.T, log string) {
	t.Helper()
	require.True(t, utf8.ValidString(log))
	require.NotContains(t, log, "##[")
	for _, r := range log {
		if r == '\n' || r == '\t' {
			continue
		}
		require.False(t, unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp), "%U in the log", r)
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") {
			require.Regexp(t, regexp.MustCompile(`^::(add-mask|group|endgroup|warning|error( title=[^:]*)?|stop-commands|[0-9a-f]{32})::`), line)
		}
	}
}

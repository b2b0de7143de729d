package report

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCleanLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"tab\tstays", "tab\tstays"},
		{"é ✓ 日本語", "é ✓ 日本語"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"a\rb\nc", `a\rb\nc`},
		{"nul\x00 del\x7f", `nul\x00 del\x7f`},
		{"c1 \u0085 \u009b", `c1 \u0085 \u009b`},
		{"ls\u2028ps\u2029", `ls\u2028ps\u2029`},
		{"bidi \u202e evil", `bidi \u202e evil`},
		{"#\u00ad#[x]", `#\u00ad#[x]`},
		{"vs \ufe0f tag \U000e0041", `vs \ufe0f tag \U000e0041`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"x ##[error]y", `x ##\[error]y`},
		{"###[", `###\[`},
		{"::error::x", `\::error::x`},
		{"   ::error::x", `   \::error::x`},
		{"\u3000\u00a0::x::", "\u3000\u00a0\\::x::"},
		{"a ::error::x", "a ::error::x"},
		{":single", ":single"},
	} {
		require.Equal(t, tt.want, cleanLine(tt.in), "%q", tt.in)
	}
}

func TestCleanLines(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"a", `\::b`, `c\rd`, ""}, cleanLines("a\r\n::b\nc\rd\n"))
}

func TestQuote(t *testing.T) {
	t.Parallel()
	require.Equal(t, `"web"`, Quote("web"))
	require.Equal(t, `"a\nb\x1b"`, Quote("a\nb\x1b"))
	require.Equal(t, `"soft\u00adhyphen"`, Quote("soft\u00adhyphen"))
	require.Equal(t, `"##\x5berror]x"`, Quote("##[error]x"))
	long := strings.Repeat("é", 200) // 400 bytes
	q := Quote(long)
	require.True(t, strings.HasPrefix(q, `"`+strings.Repeat("é", 128)+`"`), q)
	require.True(t, strings.HasSuffix(q, "… (144 more bytes)"), q)
}

func TestTail(t *testing.T) {
	t.Parallel()
	lines, cutLines, cutBytes := tail("a\nb\r\nc\n\n")
	require.Equal(t, []string{"a", "b", "c"}, lines)
	require.Zero(t, cutLines)
	require.Zero(t, cutBytes)

	var b strings.Builder
	for i := range 500 {
		b.WriteString(strings.Repeat("x", i%10) + "\n")
	}
	lines, cutLines, cutBytes = tail(b.String())
	require.Len(t, lines, BlockMaxLines)
	require.Equal(t, 300, cutLines)
	require.Equal(t, len(strings.TrimRight(b.String(), "\n"))-len(strings.Join(lines, "\n")), cutBytes)

	huge := strings.Repeat("y", BlockMaxBytes-5) + "\n" + strings.Repeat("z", 10) + "\nend"
	lines, cutLines, _ = tail(huge)
	require.Equal(t, []string{strings.Repeat("z", 10), "end"}, lines, "a line cut in its middle is dropped whole")
	require.Equal(t, 1, cutLines)

	one := strings.Repeat("é", BlockMaxBytes)
	lines, _, cutBytes = tail(one)
	require.Len(t, lines, 1)
	require.LessOrEqual(t, len(lines[0]), BlockMaxBytes)
	require.True(t, strings.HasPrefix(lines[0], "é"), "cut at a rune boundary")
	require.Equal(t, len(one)-len(lines[0]), cutBytes)
}

package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The runner reads everything this process prints as commands: it splits
// the stream into lines at \n and at \r, trims leading white space, runs a
// line that then starts with "::" as a command ("::name k=v::data") and a
// line that holds "##[" anywhere as an old-style one ("##[name k=v]data").
// Untrusted text (a container's log, a response body, an error from a
// registry) therefore gets these treatments before it is printed:
//
//   - every character that could end a line, move a terminal's cursor or
//     hide itself is replaced by a visible escape (escapeRune);
//   - "##[" becomes `##\[`;
//   - a line whose first non-space characters are "::" gets a `\` in
//     front of them.
//
// The runner matches "::" and "##[" with .NET's culture-sensitive
// IndexOf/StartsWith, which under ICU skip "ignorable" characters: a soft
// hyphen or a zero-width joiner between the two '#' would still match.
// That is why format characters and other default-ignorable code points
// are escaped too, not only the C0 and C1 controls.

// escapeRune returns the visible escape for r, or "" when r prints as
// itself. Tab is kept: it moves no line and the runner only trims it.
func escapeRune(r rune) string {
	switch {
	case r == '\t':
		return ""
	case r == '\n':
		return `\n`
	case r == '\r':
		return `\r`
	case r < 0x20 || r == 0x7f:
		return `\x` + hex2(byte(r))
	case r < 0x80:
		return ""
	case r <= 0x9f, // C1 controls, NEL among them
		unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp,
			unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point):
		if r > 0xffff {
			return fmt.Sprintf(`\U%08x`, r)
		}
		return fmt.Sprintf(`\u%04x`, r)
	}
	return ""
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&0xf]})
}

// escapeControls replaces every character escapeRune names, and every
// byte that is not UTF-8 (a lone 0x9b is a CSI to some terminals), by its
// visible escape. Line breaks are escaped too unless keepNewlines.
func escapeControls(s string, keepNewlines bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch esc := escapeRune(r); {
		case r == utf8.RuneError && size == 1:
			if b.Len() == 0 {
				b.Grow(len(s) + 8)
				b.WriteString(s[:i])
			}
			b.WriteString(`\x` + hex2(s[i]))
		case esc != "" && !(keepNewlines && r == '\n'):
			if b.Len() == 0 {
				b.Grow(len(s) + 8)
				b.WriteString(s[:i])
			}
			b.WriteString(esc)
		default:
			if b.Len() > 0 {
				b.WriteString(s[i : i+size])
			}
		}
		i += size
	}
	if b.Len() == 0 {
		return s
	}
	return b.String()
}

// cleanLine makes one line inert for the runner and for a terminal: the
// result is a single line with no control characters, no "##[", and no
// "::" as its first non-space characters.
func cleanLine(s string) string {
	return defuse(escapeControls(s, false))
}

// cleanLines is cleanLine for text of several lines; a \r\n counts as
// one line break, a lone \r is shown escaped.
func cleanLines(s string) []string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = cleanLine(l)
	}
	return lines
}

// cleanMessage is cleanLines joined again by \n, for annotation data that
// go-githubactions then encodes as %0A.
func cleanMessage(s string) string {
	return strings.Join(cleanLines(s), "\n")
}

// defuse neutralises the two command prefixes in a line that holds no
// control characters any more.
func defuse(line string) string {
	line = strings.ReplaceAll(line, "##[", `##\[`)
	rest := strings.TrimLeftFunc(line, unicode.IsSpace)
	if strings.HasPrefix(rest, "::") {
		indent := line[:len(line)-len(rest)]
		line = indent + `\` + rest
	}
	return line
}

// maxQuoted bounds Quote, so that one hostile value cannot fill the log.
const maxQuoted = 256

// Quote returns s as a Go-quoted string for a message: control and
// invisible characters are escaped, the value's ends are visible, and a
// value longer than 256 bytes is cut, saying by how much. Use it for a
// single untrusted value (a service name from a compose file, a lock
// holder, a header) so that a reader can tell where the value ends and
// our sentence resumes. The Reporter cleans every line it prints anyway;
// Quote is about readability and length, not about safety alone.
func Quote(s string) string {
	cut := 0
	if len(s) > maxQuoted {
		end := maxQuoted
		for end > 0 && !utf8.RuneStart(s[end]) {
			end--
		}
		cut = len(s) - end
		s = s[:end]
	}
	q := quote(s)
	if cut > 0 {
		q += "… (" + strconv.Itoa(cut) + " more bytes)"
	}
	return q
}

// quote is strconv.Quote plus the escapes strconv leaves out: invisible
// characters it counts as printable, and "##[" (written `##\x5b`, which
// keeps the result a valid Go literal).
func quote(s string) string {
	q := escapeControls(strconv.Quote(s), false)
	return strings.ReplaceAll(q, "##[", `##\x5b`)
}

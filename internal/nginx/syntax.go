package nginx

// nginx's config syntax, read closely enough to rewrite a config without
// changing what it means: statements with their exact text, so that the
// parts a rendering keeps are written back byte for byte, and argument
// positions, so that an include path can be replaced in place.

import (
	"fmt"
	"strings"
)

// stmt is one nginx statement: a directive ending in ';' or a block.
type stmt struct {
	name string
	args []string // unquoted
	// argSpans are the byte ranges of each argument in the parsed text,
	// quotes included.
	argSpans [][2]int
	// start and end are the statement's byte range, from its name to its
	// ';' or closing '}'.
	start, end int
	hasBlock   bool
	block      []stmt
	line       int
}

// raw is the statement's exact text.
func (s stmt) raw(text string) string { return text[s.start:s.end] }

// errSyntax is a config fragment the statement parser cannot follow.
type errSyntax struct {
	line int
	msg  string
}

func (e *errSyntax) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// token is one word of a statement, or one of ";", "{", "}".
type token struct {
	text       string // unquoted
	start, end int
	line       int
	punct      bool
}

// tokenize splits text as nginx's ngx_conf_read_token does: white space
// separates words, '#' at a word's start comments to the end of the line,
// quotes at a word's start and backslashes escape, and "${" does not open
// a block.
func tokenize(text string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == ';' || c == '{' || c == '}':
			toks = append(toks, token{text: string(c), start: i, end: i + 1, line: line, punct: true})
			i++
		case c == '"' || c == '\'':
			start, startLine := i, line
			var b strings.Builder
			for i++; ; i++ {
				if i >= len(text) {
					return nil, &errSyntax{startLine, "unterminated quoted string"}
				}
				if text[i] == '\\' && i+1 < len(text) {
					i++
					switch text[i] {
					case '"', '\'', '\\':
						b.WriteByte(text[i])
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					default:
						b.WriteByte('\\')
						b.WriteByte(text[i])
					}
					continue
				}
				if text[i] == '\n' {
					line++
				}
				if text[i] == c {
					i++
					break
				}
				b.WriteByte(text[i])
			}
			toks = append(toks, token{text: b.String(), start: start, end: i, line: startLine})
		default:
			start := i
			var b strings.Builder
			for i < len(text) {
				c := text[i]
				// Inside a word only white space, ';' and a '{' that does
				// not follow '$' end it; nginx reads "a}" and `a"b` as words.
				if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || (c == '{' && (i == start || text[i-1] != '$')) {
					break
				}
				if c == '\\' && i+1 < len(text) {
					b.WriteByte(text[i+1])
					i += 2
					continue
				}
				b.WriteByte(c)
				i++
			}
			toks = append(toks, token{text: b.String(), start: start, end: i, line: line})
		}
	}
	return toks, nil
}

// parseStmts parses a config fragment into statements.
func parseStmts(text string) ([]stmt, error) {
	toks, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	out, rest, err := parseBlock(toks, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, &errSyntax{rest[0].line, "unexpected \"}\""}
	}
	return out, nil
}

// parseBlock reads statements until an unmatched '}' (returned in rest)
// or the end.
func parseBlock(toks []token, depth int) ([]stmt, []token, error) {
	var out []stmt
	for len(toks) > 0 {
		t := toks[0]
		if t.punct && t.text == "}" {
			return out, toks, nil
		}
		if t.punct {
			return nil, nil, &errSyntax{t.line, fmt.Sprintf("unexpected %q", t.text)}
		}
		s := stmt{name: t.text, start: t.start, line: t.line}
		toks = toks[1:]
		for {
			if len(toks) == 0 {
				return nil, nil, &errSyntax{s.line, fmt.Sprintf("directive %q has no ending \";\"", s.name)}
			}
			a := toks[0]
			toks = toks[1:]
			if !a.punct {
				s.args = append(s.args, a.text)
				s.argSpans = append(s.argSpans, [2]int{a.start, a.end})
				continue
			}
			switch a.text {
			case ";":
				s.end = a.end
			case "{":
				s.hasBlock = true
				inner, rest, err := parseBlock(toks, depth+1)
				if err != nil {
					return nil, nil, err
				}
				if len(rest) == 0 {
					return nil, nil, &errSyntax{s.line, fmt.Sprintf("block %q has no closing \"}\"", s.name)}
				}
				s.block, s.end, toks = inner, rest[0].end, rest[1:]
			case "}":
				return nil, nil, &errSyntax{a.line, fmt.Sprintf("directive %q has no ending \";\"", s.name)}
			}
			break
		}
		out = append(out, s)
	}
	if depth > 0 {
		return nil, nil, &errSyntax{0, "unexpected end of file, expecting \"}\""}
	}
	return out, nil, nil
}

// quoteArg writes an argument so that nginx reads it back as s: plain
// when it holds nothing nginx's tokenizer treats specially, else in double
// quotes with quotes and backslashes escaped. A "$" still starts a
// variable either way, which is what the callers want.
func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\r\n;{}\"'\\#") {
		return s
	}
	return quoteStr(s)
}

// quoteStr always quotes, for regular expressions, where a '$' or ')' at
// the end of a bare word is easy to misread.
func quoteStr(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

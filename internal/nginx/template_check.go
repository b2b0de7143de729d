package nginx

// Checking a template before it is used: what it may do (range only over
// fields, render at most MaxIncludeSize) and how its errors read.

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"text/template/parse"
)

// MaxIncludeSize caps a rendered include (and a template's text): a real
// include is a few lines, and a template that loops must not be able to
// fill memory while inputs are checked.
const MaxIncludeSize = 64 << 10

// errIncludeTooBig stops a render that outgrows MaxIncludeSize.
var errIncludeTooBig = fmt.Errorf("it renders more than %d bytes", MaxIncludeSize)

// cappedBuffer is a buffer that refuses to grow past MaxIncludeSize;
// text/template stops executing at the first failed write.
type cappedBuffer struct{ bytes.Buffer }

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxIncludeSize {
		return 0, errIncludeTooBig
	}
	return b.Buffer.Write(p)
}

// checkRanges refuses a {{range}} over anything but a field ({{range
// .Servers}}): a range over a number such as {{range 100000000000}} runs
// for as long as it counts, writing or not.
func checkRanges(tree *parse.Tree, n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkRanges(tree, c); err != nil {
				return err
			}
		}
	case *parse.RangeNode:
		if !rangesOverField(n.Pipe) {
			return fmt.Errorf("line %s: {{range}} may only go over a field such as .Servers, not %s", lineOf(n, tree), n.Pipe)
		}
		if err := checkRanges(tree, n.List); err != nil {
			return err
		}
		return checkRanges(tree, n.ElseList)
	case *parse.IfNode:
		if err := checkRanges(tree, n.List); err != nil {
			return err
		}
		return checkRanges(tree, n.ElseList)
	case *parse.WithNode:
		if err := checkRanges(tree, n.List); err != nil {
			return err
		}
		return checkRanges(tree, n.ElseList)
	}
	return nil
}

func rangesOverField(p *parse.PipeNode) bool {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	_, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	return ok
}

// lineOf is the template line n starts on.
func lineOf(n parse.Node, tree *parse.Tree) string {
	if tree == nil {
		return "?"
	}
	loc, _ := tree.ErrorContext(n) // "include:3:5"
	parts := strings.Split(loc, ":")
	if len(parts) < 2 {
		return "?"
	}
	return parts[1]
}

// templateError turns text/template's error into the template's own
// terms: "line 2: unexpected ..." instead of "template: include:2: ...",
// and an unknown field named with the valid ones instead of Go's "map has
// no entry for key".
func templateError(err error) string {
	msg := err.Error()
	if m := missingKeyRE.FindStringSubmatch(msg); m != nil {
		line := ""
		if l := templateLineRE.FindStringSubmatch(msg); l != nil {
			line = "line " + l[1] + ": "
		}
		return fmt.Sprintf("%sunknown field .%s; valid fields are %s", line, m[1], strings.Join(fieldNames, ", "))
	}
	if l := templateLineRE.FindStringSubmatchIndex(msg); l != nil {
		rest := strings.TrimPrefix(msg[l[1]:], ": ")
		// Drop Go's "executing \"include\" at <.X>: " between line and cause.
		if k := strings.Index(rest, ">: "); strings.HasPrefix(rest, "executing ") && k >= 0 {
			rest = rest[k+3:]
		}
		return "line " + msg[l[2]:l[3]] + ": " + rest
	}
	return msg
}

// templateLineRE finds text/template's "template: include:<line>[:<col>]".
var templateLineRE = regexp.MustCompile(`template: include:(\d+)(?::\d+)?`)

var missingKeyRE = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

// stripComments removes nginx comments. nginx starts a comment only where a
// token could start, so "http://host/#x" and "#" inside quotes are kept.
func stripComments(b []byte) string {
	var out strings.Builder
	var quote byte
	tokenStart := true
	inComment := false
	escaped := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inComment {
			if c == '\n' {
				inComment = false
				tokenStart = true
				out.WriteByte(c)
			}
			continue
		}
		switch {
		case escaped:
			escaped = false
			tokenStart = false
		case c == '\\':
			escaped = true
			tokenStart = false
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
			tokenStart = false
		case c == '#' && tokenStart:
			inComment = true
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{' || c == '}':
			tokenStart = true
		default:
			tokenStart = false
		}
		out.WriteByte(c)
	}
	return out.String()
}

// normalize reduces an include to its directives: comments removed and
// white space collapsed, so that re-indenting or a marker line does not
// change what an include is compared as.
func normalize(b []byte) string {
	s := strings.Join(strings.Fields(stripComments(markerLocationRE.ReplaceAll(b, nil))), " ")
	for _, p := range []string{" ;", " {", " }"} {
		s = strings.ReplaceAll(s, p, p[1:])
	}
	for _, p := range []string{"{ ", "} ", "; "} {
		s = strings.ReplaceAll(s, p, p[:1])
	}
	return s
}

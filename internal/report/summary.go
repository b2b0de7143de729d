package report

import (
	"fmt"
	"os"
	"strings"
)

// Summary appends Markdown to the job summary when the runner provides
// one. Masked secrets are redacted from it. Untrusted text in it belongs
// in Fence, CodeSpan or TableCell. Like Output, the file is appended to
// and never created.
func (r *Reporter) Summary(markdown string) error {
	path := r.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	markdown = r.redactLocked(markdown)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("failed to write the job summary: %w", err)
	}
	_, err = f.WriteString(markdown + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("failed to write the job summary: %w", err)
	}
	return nil
}

// Fence returns text as a fenced code block, ending in a newline. The
// fence is one backtick longer than the longest run of backticks in the
// text (and at least three), so no line of the text can close it, and
// Markdown and HTML inside stay literal. Control characters other than
// \n are shown escaped; \r would otherwise start a new Markdown line.
func Fence(text string) string {
	text = strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	text = escapeControls(text, true)
	fence := strings.Repeat("`", max(3, longestRun(text, '`')+1))
	return fence + "\n" + text + "\n" + fence + "\n"
}

// CodeSpan returns s as inline code, for a single untrusted value in a
// sentence or a table cell. The delimiter is longer than any backtick
// run in s, and padded with a space where CommonMark would otherwise eat
// one of s's own. Line breaks become spaces (as Markdown would render
// them, and so that a table row stays one line). In a table cell, pass
// the result through TableCell: GFM splits cells at "|" even inside code.
func CodeSpan(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	s = escapeControls(s, false)
	if s == "" {
		return "` `"
	}
	delim := strings.Repeat("`", longestRun(s, '`')+1)
	if s[0] == '`' || s[len(s)-1] == '`' || (s[0] == ' ' && s[len(s)-1] == ' ' && strings.TrimSpace(s) != "") {
		return delim + " " + s + " " + delim
	}
	return delim + s + delim
}

// TableCell returns s ready to sit between two "|" of a Markdown table
// row: "|" is escaped and line breaks become <br>, so the text can
// neither add a column nor end the row. It does not neutralise inline
// Markdown or HTML; wrap untrusted text in CodeSpan first.
func TableCell(s string) string {
	s = strings.NewReplacer("\r\n", "<br>", "\n", "<br>", "\r", "<br>").Replace(s)
	s = escapeControls(s, false)
	return strings.ReplaceAll(s, "|", `\|`)
}

// longestRun returns the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] != c {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	return longest
}

// Package report talks to whoever runs the deploy: to the Actions runner in
// its own format (::group::, annotations, masks, outputs, the job summary),
// and in plain readable lines when run by hand outside Actions.
//
// Much of what the deploy reports is not its own: a failed container's
// log, a health check's response body, a lock holder's record, an input,
// a registry's error. The runner treats any line this process prints as a
// possible workflow command, so every line the Reporter prints goes
// through one of two doors: the Reporter's own commands, built by
// go-githubactions with their data encoded, or text, cleaned by cleanLine
// so that no line of it can be read as a command (see sanitize.go).
// Secrets given to Mask are redacted from both before anything else.
package report

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/sethvargo/go-githubactions"
)

// Reporter writes progress, annotations, outputs and the summary.
// It is safe for concurrent use.
type Reporter struct {
	mu      sync.Mutex
	out     io.Writer
	getenv  func(string) string
	gha     *githubactions.Action
	actions bool
	inGroup bool

	secrets  []string          // every value given to Mask
	redactor *strings.Replacer // replaces each of secrets, longest first

	// logrusSaid are the logrus warnings already shown: compose-go warns
	// once per load, and a deploy loads each color's files.
	logrusSaid map[string]bool
}

// New returns a Reporter writing to out. getenv supplies GITHUB_ACTIONS,
// GITHUB_OUTPUT and GITHUB_STEP_SUMMARY; no other variable is read.
func New(out io.Writer, getenv func(string) string) *Reporter {
	return &Reporter{
		out:     out,
		getenv:  getenv,
		gha:     githubactions.New(githubactions.WithWriter(out), githubactions.WithGetenv(getenv)),
		actions: getenv("GITHUB_ACTIONS") == "true",
	}
}

// InActions reports whether the runner's workflow commands are understood.
func (r *Reporter) InActions() bool { return r.actions }

// Phase opens a collapsible group (or prints a heading) for one phase of
// the deploy. Call the returned function to close it. The name is
// cleaned like any text, so a name built from a service's name cannot
// end the line early.
func (r *Reporter) Phase(name string) (end func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeGroupLocked()
	name = cleanLine(r.redactLocked(name))
	if r.actions {
		r.gha.Group(name)
		r.inGroup = true
	} else {
		r.printLocked("==> " + name)
	}
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.closeGroupLocked()
	}
}

func (r *Reporter) closeGroupLocked() {
	if r.inGroup {
		r.gha.EndGroup()
		r.inGroup = false
	}
}

// Infof prints a progress line, or several when the message has line
// breaks. Whatever the arguments hold, each printed line is cleaned: no
// control characters, no "##[", no leading "::".
func (r *Reporter) Infof(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := strings.TrimSuffix(r.redactLocked(fmt.Sprintf(format, args...)), "\n")
	r.printLocked(cleanLines(msg)...)
}

// Warnf prints a warning: an annotation in Actions. The message is
// cleaned line by line; go-githubactions then encodes its line breaks, so
// the annotation is one line of the log whatever it says.
func (r *Reporter) Warnf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := cleanMessage(r.redactLocked(fmt.Sprintf(format, args...)))
	if r.actions {
		r.gha.Warningf("%s", msg)
		return
	}
	r.printLocked(strings.Split("warning: "+msg, "\n")...)
}

// Errorf prints an error: an annotation in Actions. title names the phase
// that failed, so the annotation reads on its own in the run's summary.
// Title and message are cleaned as in Warnf.
func (r *Reporter) Errorf(title, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeGroupLocked()
	title = cleanLine(r.redactLocked(title))
	msg := cleanMessage(r.redactLocked(fmt.Sprintf(format, args...)))
	if r.actions {
		if title == "" {
			r.gha.Errorf("%s", msg)
			return
		}
		r.gha.WithFieldsMap(map[string]string{"title": title}).Errorf("%s", msg)
		return
	}
	if title != "" {
		msg = title + ": " + msg
	}
	r.printLocked(strings.Split("error: "+msg, "\n")...)
}

// Limits of Block: a crash loop's log can be megabytes, and the end of it
// is what explains the failure.
const (
	BlockMaxLines = 200
	BlockMaxBytes = 64 << 10
)

// Block prints untrusted text of many lines (a failed container's log)
// under a title, in its own collapsed group so that the job log stays
// short until someone opens it. Only the last BlockMaxLines lines and
// BlockMaxBytes bytes are printed, with a note saying what was cut.
//
// In Actions the text is fenced by ::stop-commands:: with a fresh random
// token, so the runner runs nothing inside it, and each line is also
// cleaned as Infof's are: either fence alone would hold. By hand, the
// lines are indented under a "--- title" header, cleaned the same way so
// that escape sequences in a container's log cannot repaint the
// operator's terminal. The title is ours, but cleaned too; quote any
// untrusted part of it with Quote.
func (r *Reporter) Block(title, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeGroupLocked()
	title = cleanLine(r.redactLocked(title))
	lines, cutLines, cutBytes := tail(r.redactLocked(text))
	for i, l := range lines {
		lines[i] = cleanLine(l)
	}
	note := ""
	if cutBytes > 0 {
		note = fmt.Sprintf("[%d earlier lines (%d bytes) not shown: only the last %d lines and %d KiB are printed]",
			cutLines, cutBytes, BlockMaxLines, BlockMaxBytes>>10)
	}
	if r.actions {
		token := randomHex()
		r.gha.Group(title)
		if note != "" {
			r.printLocked(note)
		}
		r.gha.IssueCommand(&githubactions.Command{Name: "stop-commands", Message: token})
		r.printLocked(lines...)
		r.gha.IssueCommand(&githubactions.Command{Name: token})
		r.gha.EndGroup()
		return
	}
	r.printLocked("--- " + title)
	if note != "" {
		r.printLocked("    " + note)
	}
	for _, l := range lines {
		r.printLocked("    " + l)
	}
	r.printLocked("---")
}

// tail keeps the end of text: at most BlockMaxLines lines and
// BlockMaxBytes bytes. It returns the kept lines and how many lines and
// bytes it dropped; a line cut in the middle counts as dropped.
func tail(text string) (lines []string, cutLines, cutBytes int) {
	text = strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	total := len(text)
	if len(text) > BlockMaxBytes {
		start := len(text) - BlockMaxBytes
		if nl := strings.IndexByte(text[start:], '\n'); nl >= 0 {
			start += nl + 1
		} else {
			for start < len(text) && !utf8.RuneStart(text[start]) {
				start++
			}
		}
		cutLines = strings.Count(text[:start], "\n")
		text = text[start:]
	}
	lines = strings.Split(text, "\n")
	if len(lines) > BlockMaxLines {
		drop := len(lines) - BlockMaxLines
		for _, l := range lines[:drop] {
			text = text[len(l)+1:]
		}
		cutLines += drop
		lines = lines[drop:]
	}
	return lines, cutLines, total - len(text)
}

// printLocked writes lines that are already clean. A failed write to the
// log has nowhere to be reported, so it is ignored.
func (r *Reporter) printLocked(lines ...string) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, _ = io.WriteString(r.out, b.String())
}

// randomHex returns 128 random bits in hex: a stop-commands token or an
// output delimiter that the text it fences cannot have guessed.
func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail (it crashes the program instead)
	return hex.EncodeToString(b)
}

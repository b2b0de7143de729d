package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Limits of Stream: an image build can print tens of thousands of lines
// (a package manager's progress), and its last lines are the ones that
// explain a failure.
const (
	StreamMaxLines   = 2000
	StreamMaxLineLen = 4 << 10
)

// Stream returns a writer for untrusted text that arrives over time, such
// as an image build's output, printed line by line as it comes in its own
// collapsed group under title. Each line is cleaned as Block's are, and in
// Actions the group is fenced by ::stop-commands:: with a fresh token.
// After StreamMaxLines lines the rest is held back, and only its last
// BlockMaxLines lines are printed when the writer is closed, after a note
// saying how many were left out. A line longer than StreamMaxLineLen is
// cut. Close ends the group; nothing else should print while a stream is
// open, since the runner runs no command inside the fence.
func (r *Reporter) Stream(title string) io.WriteCloser {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeGroupLocked()
	title = cleanLine(r.redactLocked(title))
	s := &stream{r: r}
	if r.actions {
		s.token = randomHex()
		r.gha.Group(title)
		r.gha.IssueCommand(&githubactions.Command{Name: "stop-commands", Message: s.token})
	} else {
		r.printLocked("--- " + title)
	}
	return s
}

type stream struct {
	r       *Reporter
	token   string
	partial strings.Builder
	printed int
	held    []string // the last BlockMaxLines lines past StreamMaxLines
	dropped int      // lines past StreamMaxLines not kept in held
	closed  bool
}

// Write prints every complete line of p; a \r (a progress bar redrawing
// its line) ends a line too.
func (s *stream) Write(p []byte) (int, error) {
	text := strings.ReplaceAll(string(p), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	for {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			break
		}
		s.partial.WriteString(text[:i])
		s.line(s.partial.String())
		s.partial.Reset()
		text = text[i+1:]
	}
	if s.partial.Len()+len(text) > StreamMaxLineLen {
		s.partial.WriteString(text)
		s.line(s.partial.String())
		s.partial.Reset()
		return len(p), nil
	}
	s.partial.WriteString(text)
	return len(p), nil
}

func (s *stream) line(l string) {
	if l == "" {
		return
	}
	if len(l) > StreamMaxLineLen {
		l = l[:StreamMaxLineLen] + fmt.Sprintf("… (%d more bytes)", len(l)-StreamMaxLineLen)
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	l = cleanLine(s.r.redactLocked(l))
	if s.printed < StreamMaxLines {
		s.printed++
		s.printLocked(l)
		return
	}
	s.held = append(s.held, l)
	if len(s.held) > BlockMaxLines {
		s.held = s.held[1:]
		s.dropped++
	}
}

func (s *stream) printLocked(l string) {
	if s.r.actions {
		s.r.printLocked(l)
		return
	}
	s.r.printLocked("    " + l)
}

// Close prints what is left and ends the group.
func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	if s.partial.Len() > 0 {
		s.line(s.partial.String())
		s.partial.Reset()
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.closed = true
	if s.dropped > 0 {
		s.printLocked(fmt.Sprintf("[%d lines not shown: only the first %d and the last %d lines are printed]", s.dropped, StreamMaxLines, BlockMaxLines))
	}
	for _, l := range s.held {
		s.printLocked(l)
	}
	if s.r.actions {
		s.r.gha.IssueCommand(&githubactions.Command{Name: s.token})
		s.r.gha.EndGroup()
		return nil
	}
	s.r.printLocked("---")
	return nil
}

package deploytest

import (
	"fmt"
	"strings"
	"sync"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// Line is one thing a deploy reported: its kind (phase, end, info,
// warning, block) and its text (for a block, its title and text on
// separate lines).
type Line struct{ Kind, Text string }

func (l Line) String() string { return l.Kind + " " + l.Text }

// Reporter is a deploy.Reporter that records what a deploy reports, in
// order, so that a test can tell a warning from an ordinary line and see
// where each phase's group opens and closes.
type Reporter struct {
	mu    sync.Mutex
	lines []Line
}

var _ deploy.Reporter = (*Reporter)(nil)

func (r *Reporter) add(kind, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, Line{kind, text})
}

// Phase records the phase's name, and its end when end is called.
func (r *Reporter) Phase(name string) (end func()) {
	r.add("phase", name)
	return func() { r.add("end", name) }
}

// Infof records an ordinary line.
func (r *Reporter) Infof(format string, args ...any) { r.add("info", fmt.Sprintf(format, args...)) }

// Warnf records a warning.
func (r *Reporter) Warnf(format string, args ...any) { r.add("warning", fmt.Sprintf(format, args...)) }

// Block records a block of untrusted text under its title.
func (r *Reporter) Block(title, text string) { r.add("block", title+"\n"+text) }

// Lines returns everything reported, in order.
func (r *Reporter) Lines() []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Line(nil), r.lines...)
}

// Of returns the texts of the lines of one kind, in order.
func (r *Reporter) Of(kind string) []string {
	out := []string{}
	for _, l := range r.Lines() {
		if l.Kind == kind {
			out = append(out, l.Text)
		}
	}
	return out
}

// String is everything reported, a line each, for a failing test's log.
func (r *Reporter) String() string {
	var b strings.Builder
	for _, l := range r.Lines() {
		b.WriteString(l.String())
		b.WriteByte('\n')
	}
	return b.String()
}

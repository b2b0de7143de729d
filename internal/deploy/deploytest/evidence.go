package deploytest

// Evidence: nginx's record of what each color answered, as a canary
// reads it, scripted window by window.

import (
	"context"
	"sync"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// Evidence is a deploy.Evidence whose windows a test scripts.
type Evidence struct {
	mu sync.Mutex
	// Windows are the steps' evidence, in order; a step past the end gets
	// the last one, none gets empty evidence.
	Windows []nginx.Evidence
	// PrepareErr fails Prepare.
	PrepareErr error
	// Hook runs as each window is read (its index), for a test that acts
	// during a step.
	Hook func(window int)

	read     int
	prepared int
	removed  int
	addrs    map[string]color.Color
}

var _ deploy.Evidence = (*Evidence)(nil)

// Prepare returns a log path and nothing to keep, or PrepareErr.
func (e *Evidence) Prepare(context.Context) (nginx.EvidenceLog, []string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.prepared++
	if e.PrepareErr != nil {
		return nginx.EvidenceLog{}, nil, e.PrepareErr
	}
	return nginx.EvidenceLog{Path: "/var/log/nginx/fake.evidence"}, nil, nil
}

// Mark returns the number of windows read so far.
func (e *Evidence) Mark() (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return int64(e.read), nil
}

// Since returns the next window and records addrs.
func (e *Evidence) Since(mark int64, addrs map[string]color.Color) (nginx.Evidence, int64, error) {
	e.mu.Lock()
	i := e.read
	e.read++
	e.addrs = addrs
	var w nginx.Evidence
	if len(e.Windows) > 0 {
		w = e.Windows[min(i, len(e.Windows)-1)]
	}
	hook := e.Hook
	e.mu.Unlock()
	if hook != nil {
		hook(i)
	}
	return w, mark + 1, nil
}

// Counts returns how often Prepare and Remove were called and how many
// windows were read.
func (e *Evidence) Counts() (prepared, read, removed int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.prepared, e.read, e.removed
}

// Addrs returns the addresses the last window was attributed by.
func (e *Evidence) Addrs() map[string]color.Color {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addrs
}

// Remove records the call.
func (e *Evidence) Remove() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.removed++
}

package fleet

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is time that passes only when the rollout waits: each wait
// returns at once, the clock moved on by it.
func fakeClock() *clock {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &clock{
		now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		},
		after: func(d time.Duration) <-chan time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(d)
			ch := make(chan time.Time, 1)
			ch <- now
			return ch
		},
	}
}

// recorder is a Reporter that keeps what it is told.
type recorder struct {
	mu       sync.Mutex
	infos    []string
	warnings []string
	phases   []string
}

var _ Reporter = (*recorder)(nil)

func (r *recorder) Phase(name string) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phases = append(r.phases, name)
	return func() {}
}

func (r *recorder) Infof(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.infos = append(r.infos, fmt.Sprintf(format, args...))
}

func (r *recorder) Warnf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warnings = append(r.warnings, fmt.Sprintf(format, args...))
}

// Lines returns everything it was told, in order of kind.
func (r *recorder) Lines() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(append(append(append([]string{}, r.phases...), r.infos...), r.warnings...), "\n")
}

// rollWithin runs a rollout and fails the test, rather than hang, when it
// does not end within a minute.
func rollWithin(t *testing.T, roll func() *Outcome) *Outcome {
	t.Helper()
	done := make(chan *Outcome, 1)
	go func() { done <- roll() }()
	select {
	case out := <-done:
		return out
	case <-time.After(time.Minute):
		t.Fatal("the rollout did not end within a minute")
		return nil
	}
}

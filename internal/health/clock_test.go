package health

import (
	"sort"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when the test advances it, so that
// a test asserts the schedule in exact durations.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

var _ Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

type fakeTimer struct {
	c      *fakeClock
	ch     chan time.Time
	at     time.Time
	active bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	t.Reset(d)
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

// Reset drops a value nobody received, as Go's timers do since 1.23.
func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.at, t.active = t.c.now.Add(d), true
	t.c.fireLocked()
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.active = false
}

// fireLocked sends on every active timer that is due.
func (c *fakeClock) fireLocked() {
	for _, t := range c.timers {
		if t.active && !t.at.After(c.now) {
			t.active = false
			select {
			case t.ch <- c.now:
			default:
			}
		}
	}
}

// Advance moves the clock by d and fires what is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireLocked()
}

// pending returns how far ahead of now each active timer is, soonest first.
func (c *fakeClock) pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, t := range c.timers {
		if t.active {
			out = append(out, t.at.Sub(c.now))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// testTimeout bounds every wait in these tests: a broken checker fails
// with a message instead of hanging the run for ten minutes.
const testTimeout = 10 * time.Second

// awaitTimer waits until a timer is set to fire exactly d from now, and
// fails the test if none is within testTimeout.
func (c *fakeClock) awaitTimer(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		p := c.pending()
		for _, got := range p {
			if got == d {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no timer was set to fire %s from now within %s (pending: %v)", d, testTimeout, p)
		}
		time.Sleep(time.Millisecond)
	}
}

// drive advances the clock to each timer the checker sets, until done
// delivers; it fails the test if that takes longer than testTimeout.
func drive[T any](t *testing.T, c *fakeClock, done <-chan T) T {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		select {
		case v := <-done:
			return v
		default:
		}
		if p := c.pending(); len(p) > 0 {
			c.Advance(p[0])
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("the wait did not end within %s", testTimeout)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

package health

import "time"

// Clock is the time a Checker schedules its probes by. The real one is
// the default; tests pass a fake one, so that the schedule (the first
// probe at once, the next an interval after it) is asserted in exact
// durations instead of wall-clock gaps that a loaded machine stretches.
type Clock interface {
	Now() time.Time
	// NewTimer returns a started timer that fires once, d from now; d <= 0
	// fires at once.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the Checker uses.
type Timer interface {
	C() <-chan time.Time
	// Reset makes the timer fire d from now, whether or not it fired.
	Reset(d time.Duration)
	Stop()
}

// realClock is the system's clock.
type realClock struct{}

func (realClock) Now() time.Time                 { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }

// Reset relies on Go 1.23's timers: a Reset discards a value the timer
// sent and nobody received, so no stale tick reaches the next select.
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTimer) Stop()                 { r.t.Stop() }

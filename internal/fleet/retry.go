package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// TransientError is a Driver error the same call may not meet again: the
// connection to the host's daemon failed or dropped (a daemon restarting,
// a network blip). Ran says whether the helper had begun its work on the
// host before that: then only a call that changes nothing (a status run)
// may simply be made again.
type TransientError struct {
	Ran bool
	Err error
}

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// DefaultRetryWindow bounds how long a rollout keeps trying a call that
// met a transient error: long enough for a daemon to restart, short
// enough that a host that is gone fails the rollout in about a minute.
const DefaultRetryWindow = time.Minute

// retryEvery is the pause between two tries.
const retryEvery = time.Second

// clock is the rollout's time, which tests replace.
type clock struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

var realClock = clock{now: time.Now, after: time.After}

// retryable reports whether err may be met no more by trying again: a
// transient error, before the helper began (or of a call that changes
// nothing, readOnly).
func retryable(err error, readOnly bool) bool {
	var te *TransientError
	return errors.As(err, &te) && (readOnly || !te.Ran)
}

// retry calls try until it succeeds, fails for good, or the retry window
// has passed since the first failure; what names the call in the log and
// in the last error ("read the live color of h2").
func (r *rollout) retry(ctx context.Context, what string, readOnly bool, try func() error) error {
	err := try()
	if err == nil || !retryable(err, readOnly) {
		return err
	}
	first := r.clock.now()
	deadline := first.Add(r.opts.RetryWindow)
	r.rep.Warnf("failed to %s (%v); trying again for up to %s", what, err, r.opts.RetryWindow)
	for n := 2; ; n++ {
		select {
		case <-ctx.Done():
			return fmt.Errorf("failed to %s: %w (gave up retrying: %v)", what, err, context.Cause(ctx))
		case <-r.clock.after(retryEvery):
		}
		err = try()
		switch {
		case err == nil:
			r.rep.Infof("%s: done at try %d", what, n)
			return nil
		case !retryable(err, readOnly):
			return err
		case !r.clock.now().Before(deadline):
			return fmt.Errorf("failed to %s after trying for %s: %w", what, r.clock.now().Sub(first).Round(time.Second), err)
		}
	}
}

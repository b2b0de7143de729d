package hosthelper

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/lock"
)

// DefaultFleetLockDir holds the fleet locks of a host, one file per
// project. It sits beside the deploy locks (lock.DefaultDir), which a
// host's own deploy takes as always: the fleet lock only orders rollouts
// among themselves, and is held by its own helper while the rollout's
// deploy helpers come and go.
var DefaultFleetLockDir = path.Join(lock.DefaultDir, "fleet")

// ErrFleetLockBusy means another rollout holds the host's fleet lock and
// this one may not wait: the runner, told "busy <holder>", says what
// happens next.
var ErrFleetLockBusy = errors.New("another rollout holds this host's fleet lock")

// HoldFleetLock follows EnterHost for a helper whose handover asks for the
// host's fleet lock (Handover.Lock): it takes the lock, says so on out with
// a TokenLine, and holds it until ctx ends: the runner closes this
// helper's stdin (or goes away) when its rollout is over. flock(2) dies
// with this process, so the lock can never outlive it. The line is
// "locked"; or "busy <holder>" when it may not wait and another rollout
// holds it; or "failed <why>", which names the holder when the wait timed
// out. The holder is its lock record's, printed safe (lock.Holder.String).
func (a *Arrival) HoldFleetLock(ctx context.Context) error {
	l, token, out, rep := a.Handover.Lock, a.Handover.ResultToken, a.out, a.rep
	dir := l.Dir
	if dir == "" {
		dir = DefaultFleetLockDir
	}
	me := lock.Holder{RunID: l.RunID, SHA: l.SHA, Workflow: l.Workflow}
	var onWait func(lock.Holder)
	if l.Timeout > 0 {
		onWait = func(h lock.Holder) {
			rep.Infof("another rollout of %s holds this host's fleet lock (%s); waiting up to %s (lock-timeout)", l.Project, h, l.Timeout)
		}
	}
	held, err := lock.Acquire(ctx, dir, l.Project, me, l.Timeout, onWait)
	if err != nil {
		holder, _ := lock.ReadHolder(dir, l.Project)
		switch {
		case l.Timeout <= 0 && errors.Is(err, lock.ErrTimeout):
			// A try without waiting: the runner says what it does next.
			fmt.Fprintln(out, TokenLine(token, "busy "+holder.String()))
			return ErrFleetLockBusy
		case errors.Is(err, lock.ErrTimeout):
			fmt.Fprintln(out, TokenLine(token, fmt.Sprintf("failed timed out after %s (lock-timeout) waiting for the fleet lock of %s: another rollout holds it: %s; wait for it to finish, or raise lock-timeout", l.Timeout, l.Project, holder)))
		default:
			fmt.Fprintln(out, TokenLine(token, "failed "+oneLine(err.Error())))
		}
		// The runner reads the failure from the line above and says it.
		return err
	}
	fmt.Fprintln(out, TokenLine(token, "locked"))
	<-ctx.Done()
	if err := held.Release(); err != nil {
		rep.Warnf("%v", err)
	}
	return nil
}

// oneLine keeps a message on one line, so that it travels as one
// TokenLine.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

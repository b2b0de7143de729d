package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/dockerdiag"
	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
)

// ErrLockBusy is a fleet lock another rollout holds, when Lock may not
// wait.
var ErrLockBusy = errors.New("another rollout holds it")

// maxSaid caps what a lock's helper says of its lock's holder, which is
// the holder's record: untrusted text, printed only through the Reporter.
const maxSaid = 400

// Lock starts the helper that holds h's fleet lock, and waits until it
// says it holds it. The Lease is lost when that helper ends before it is
// given back: the host's daemon restarted (and killed it), or the
// connection to it dropped.
func (d *Docker) Lock(ctx context.Context, h Host, wait bool) (*Lease, error) {
	c, err := d.conn(h)
	if err != nil {
		return nil, err
	}
	token := newToken()
	locked := make(chan struct{})
	var (
		once sync.Once
		mu   sync.Mutex
		said string // what it said instead of "locked"
	)
	out := d.relay(h, func(line string) bool {
		p, ok := hosthelper.CutTokenLine(token, line)
		switch {
		case ok && p == "locked":
			once.Do(func() { close(locked) })
		case ok:
			mu.Lock()
			said = p
			mu.Unlock()
		}
		return ok
	})
	release := make(chan struct{})
	timeout := d.Config.LockTimeout
	if !wait {
		timeout = 0
	}
	ho := hosthelper.Handover{
		Env:         map[string]string{},
		ResultToken: token,
		WatchStdin:  true,
		Lock: &hosthelper.FleetLock{
			Project:  d.Config.ProjectName,
			Timeout:  timeout,
			RunID:    d.Config.Run.RunID,
			SHA:      d.Config.Run.SHA,
			Workflow: d.Config.Run.Workflow,
		},
	}
	helper := d.helper(c, h, "lock", ho, out)
	helper.Release = release
	var (
		exitCode int
		exitErr  error
	)
	exited := make(chan struct{})
	go func() {
		// The lock's lifetime is Release's, not ctx's.
		exitCode, exitErr = helper.Run(context.WithoutCancel(ctx))
		out.Close()
		close(exited)
	}()
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() { close(release) })
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			d.Report.Warnf("%s: the fleet lock's helper did not end within 30s; it ends when its connection closes", h.Name)
		}
	}
	select {
	case <-locked:
		lease, lose := NewLease(stop)
		go func() {
			<-exited
			select {
			case <-release:
				// Given back.
			default:
				cause := fmt.Sprintf("its helper exited with code %d", exitCode)
				if exitErr != nil {
					cause = exitErr.Error()
				}
				lose(errors.New(cause))
			}
		}()
		return lease, nil
	case <-exited:
		mu.Lock()
		defer mu.Unlock()
		return nil, lockError(said, exitCode, exitErr)
	case <-ctx.Done():
		stop()
		return nil, fmt.Errorf("gave up waiting for the fleet lock: %w", context.Cause(ctx))
	}
}

// lockError is why a lock's helper ended without the lock: what it said
// ("busy <holder>", "failed <why>"), or how it ended.
func lockError(said string, code int, err error) error {
	if r := []rune(said); len(r) > maxSaid {
		said = string(r[:maxSaid]) + "…"
	}
	switch {
	case err != nil && dockerdiag.Unanswered(err):
		return &TransientError{Err: fmt.Errorf("failed to start the fleet lock's helper: %w", err)}
	case err != nil:
		return err
	case said == "busy":
		return ErrLockBusy
	case strings.HasPrefix(said, "busy "):
		return fmt.Errorf("%w: %s", ErrLockBusy, strings.TrimPrefix(said, "busy "))
	case strings.HasPrefix(said, "failed "):
		return errors.New(strings.TrimPrefix(said, "failed "))
	}
	return fmt.Errorf("failed to take the fleet lock (the lock's helper exited with code %d)", code)
}

package fleet

import (
	"context"
	"fmt"
	"sync"
)

// keeper holds one host's fleet lock for the rest of the rollout. A lock
// can end on its own: its helper dies when the host's daemon restarts or
// the connection drops. The keeper notices at once and takes the lock
// again (a restarted daemon answers again within the retry window), so
// that another rollout has no time to take the host in between; and a
// host is touched only while its keeper holds the lock (hold). A lock
// that cannot be taken again fails the rollout.
type keeper struct {
	r    *rollout
	h    *HostOutcome
	ctx  context.Context // ends when the rollout gives its locks back
	stop context.CancelFunc
	done chan struct{}

	mu    sync.Mutex
	lease *Lease // nil while it is taken again
	err   error  // set when the lock is lost for good
	// changed is closed, and replaced, at every change of lease or err.
	changed chan struct{}
}

// keep starts keeping h's lock, held as lease.
func (r *rollout) keep(h *HostOutcome, lease *Lease) *keeper {
	ctx, stop := context.WithCancel(context.WithoutCancel(r.ctx))
	k := &keeper{r: r, h: h, ctx: ctx, stop: stop, done: make(chan struct{}), lease: lease, changed: make(chan struct{})}
	go k.watch()
	return k
}

func (k *keeper) set(lease *Lease, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lease, k.err = lease, err
	close(k.changed)
	k.changed = make(chan struct{})
}

// watch takes the lock again each time it is lost, and gives it back
// when the rollout is over.
func (k *keeper) watch() {
	defer close(k.done)
	r, name := k.r, k.h.Host.Name
	for {
		k.mu.Lock()
		lease := k.lease
		k.mu.Unlock()
		select {
		case <-k.ctx.Done():
			lease.Release()
			return
		case <-lease.Lost():
		}
		cause := lease.Cause()
		k.set(nil, nil)
		r.rep.Warnf("%s: its fleet lock ended (%v); taking it again before the host is touched", name, cause)
		var next *Lease
		err := r.retry(k.ctx, "take the fleet lock of "+name+" again", true, func() error {
			var err error
			next, err = r.drv.Lock(k.ctx, k.h.Host, false)
			return err
		})
		if k.ctx.Err() != nil {
			if err == nil {
				next.Release()
			}
			return
		}
		if err != nil {
			err = fmt.Errorf("its fleet lock ended (%v) and could not be taken again, so another rollout may deploy it: %w", cause, err)
			k.set(nil, err)
			r.lockLost(k.h, err)
			return
		}
		r.rep.Infof("%s: fleet lock taken again", name)
		k.set(next, nil)
	}
}

// hold returns once the keeper holds the lock, or the error that says it
// never will.
func (k *keeper) hold(ctx context.Context) error {
	for {
		k.mu.Lock()
		lease, err, changed := k.lease, k.err, k.changed
		k.mu.Unlock()
		if err != nil {
			return err
		}
		if lease != nil {
			select {
			case <-lease.Lost():
				// The watcher is about to take it again.
			default:
				return nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting for the fleet lock to be taken again: %w", context.Cause(ctx))
		}
	}
}

// hold returns once h's fleet lock is held (at once when it never ended;
// in mode status no lock is taken), or the error that says it never will.
func (r *rollout) hold(ctx context.Context, h *HostOutcome) error {
	r.mu.Lock()
	k := r.keepers[h]
	r.mu.Unlock()
	if k == nil {
		return nil
	}
	return k.hold(ctx)
}

// keepAll starts keeping every lock lockAll took; the returned function
// gives them all back: all at once when they were taken at once, else
// the last taken first.
func (r *rollout) keepAll(order []*HostOutcome, leases []*Lease, atOnce bool) func() {
	r.mu.Lock()
	r.keepers = map[*HostOutcome]*keeper{}
	var keepers []*keeper
	for i, h := range order {
		k := r.keep(h, leases[i])
		r.keepers[h] = k
		keepers = append(keepers, k)
	}
	r.mu.Unlock()
	return func() {
		for i := len(keepers) - 1; i >= 0; i-- {
			keepers[i].stop()
			if !atOnce {
				<-keepers[i].done
			}
		}
		for _, k := range keepers {
			<-k.done
		}
	}
}

// lockLost fails the rollout on h's account: h's fleet lock ended and
// could not be taken again, so the rollout can no longer promise that no
// other rollout deploys h.
func (r *rollout) lockLost(h *HostOutcome, err error) {
	r.mu.Lock()
	h.LockErr = err
	r.mu.Unlock()
	r.rep.Warnf("%s: %v", h.Host.Name, err)
	r.noteFailure(h)
}

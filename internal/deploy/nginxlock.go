package deploy

// The host's nginx is shared: several projects may each have an include in
// it and deploy at the same time. A reload applies every include, and an
// nginx -t run while another project's switch has its new include written
// but not yet tested would judge that include, so every step that tests,
// writes, reloads or confirms nginx holds one lock for the whole host,
// beside the project's own lock.

import (
	"context"
	"fmt"

	"github.com/bluegreen-action/bluegreen/internal/lock"
)

// NginxLockName is the name the host-wide nginx lock is taken under with
// the Target's NginxLock. No compose project name can hold "@", so it is
// never a project's lock.
const NginxLockName = "@nginx"

// withNginx runs fn holding the host's nginx lock (when the Target has
// one). The wait is bounded by lock-timeout; a switch holds it for
// seconds.
func (r *run) withNginx(ctx context.Context, fn func() error) error {
	if r.d.NginxLock == nil {
		return fn()
	}
	me := lock.Holder{RunID: r.cfg.Run.RunID, SHA: r.cfg.Run.SHA, Workflow: r.cfg.Run.Workflow}
	lk, err := r.d.NginxLock.Lock(ctx, NginxLockName, me, r.cfg.LockTimeout, func(h lock.Holder) {
		r.d.Report.Infof("another deploy is switching this host's nginx (%s); waiting for it, up to %s (lock-timeout)", h, r.cfg.LockTimeout)
	})
	if err != nil {
		return fmt.Errorf("failed to take the host's nginx lock: %w", err)
	}
	defer func() {
		if err := lk.Release(); err != nil {
			r.d.Report.Warnf("%v", err)
		}
	}()
	return fn()
}

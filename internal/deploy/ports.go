package deploy

// What the deploy needs from the host it runs on: its containers, its
// nginx, the drain, the lock and a reporter, each an interface that the
// real implementations and the doubles of deploytest satisfy.

import (
	"context"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/lock"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/pull"
)

// Engine is the part of the compose engine a deploy uses.
type Engine interface {
	EnsureImages(ctx context.Context, p *types.Project, policy pull.Policy, creds compose.Credentials) error
	Up(ctx context.Context, p *types.Project) ([]compose.Container, error)
	List(ctx context.Context, project string) ([]compose.Container, error)
	Inspect(ctx context.Context, id string) (compose.Container, error)
	Logs(ctx context.Context, id string, tail int) (string, error)
	Start(ctx context.Context, project string) ([]compose.Container, error)
	Stop(ctx context.Context, project string, timeout *time.Duration) error
	Down(ctx context.Context, project string, timeout *time.Duration) error
	// Remove is Down keeping the project's networks for its next Up.
	Remove(ctx context.Context, project string, timeout *time.Duration) error
	// ImageInfo inspects an image; a missing one gives compose.ErrImageMissing.
	ImageInfo(ctx context.Context, ref string) (compose.ImageInfo, error)
	// SetAside renames a project's containers out of the way (stopped,
	// kept) for deploy by; ListAside, PutBack and RemoveAside find them,
	// rename them back (restarting the ones that ran) or remove them.
	SetAside(ctx context.Context, project, by string) ([]compose.Container, error)
	ListAside(ctx context.Context, project string) ([]compose.Container, error)
	PutBack(ctx context.Context, project string) ([]compose.Container, error)
	RemoveAside(ctx context.Context, project string) ([]compose.Container, error)
	// RemoveImage removes one reference, never an image a container uses.
	RemoveImage(ctx context.Context, ref string) error
	// Publishers lists the running containers, of any project, that
	// publish one of ports on the host.
	Publishers(ctx context.Context, ports ...int) ([]compose.Container, error)
	// RoleEngine is what a deploy needs for the services' roles: shared
	// services, jobs and singletons (roles_run.go).
	RoleEngine
}

var _ Engine = (*compose.Engine)(nil)

// Switch is nginx as the deploy sees it: the include and its checked,
// reversible replacement.
type Switch interface {
	Read() (data []byte, exists bool, err error)
	Switch(ctx context.Context, next []byte) (*nginx.Reload, error)
	Restore(ctx context.Context, prev []byte, existed bool) error
	// Pending reports an include written but never loaded by nginx.
	Pending() (pending, ok bool, why string)
	// RemoveStaleTemps removes temp files a killed deploy left behind.
	RemoveStaleTemps() ([]string, error)
	// ShutdownTimeoutSet reports whether nginx sets worker_shutdown_timeout.
	ShutdownTimeoutSet(ctx context.Context) (bool, error)
	// FindFrontDoor finds where nginx answers for the server that
	// includes the include.
	FindFrontDoor(ctx context.Context, includePath string) (nginx.FrontDoor, bool, error)
	// FindInclusion tells where nginx's config includes the include.
	FindInclusion(ctx context.Context, includePath string) (nginx.Inclusion, error)
	// Preflight checks that nginx runs and its config passes nginx -t as
	// it is (nginx.ErrNotRunning, a *nginx.ConfigError).
	Preflight(ctx context.Context) error
	// Prepare makes a switch to next ready without touching the live
	// include; Commit then writes, reloads and confirms it.
	Prepare(ctx context.Context, next []byte) (*nginx.Prepared, error)
	Commit(ctx context.Context, p *nginx.Prepared) (*nginx.Reload, error)
	// CheckServing says what nginx serves, checked: the include read back,
	// the master, the front door.
	CheckServing(ctx context.Context) nginx.Serving
}

var _ Switch = (*nginx.Switcher)(nil)

// DrainFunc waits until nothing is served by the old color any more.
type DrainFunc func(ctx context.Context, r *nginx.Reload, oldUpstream string, timeout time.Duration) (nginx.DrainResult, error)

// Locker serialises deploys of one project on a target. The lock must
// die with its holder, so that a killed deploy never leaves it held.
type Locker interface {
	// Lock waits up to timeout for the project's lock, calling onWait once
	// with the holder's record when it has to wait. The error of a timeout
	// names the holder.
	Lock(ctx context.Context, project string, me lock.Holder, timeout time.Duration, onWait func(lock.Holder)) (Unlocker, error)
}

// Unlocker gives a held lock up.
type Unlocker interface{ Release() error }

// Reporter is the job log as a deploy writes to it: only what the deploy
// calls, so that the deploy owns its view of the log and a test can pass
// its own. *report.Reporter is the one for GitHub Actions and a terminal;
// the text given to it may hold untrusted data, which it makes safe.
type Reporter interface {
	// Phase opens a group named for a phase; end closes it.
	Phase(name string) (end func())
	Infof(format string, args ...any)
	// Warnf reports something the user should fix, though the deploy goes
	// on.
	Warnf(format string, args ...any)
	// Block shows untrusted text (a failed container's last log lines)
	// under a title, fenced so that no line of it is taken for a runner
	// command.
	Block(title, text string)
}

func (r *run) acquireLock(ctx context.Context) (Unlocker, error) {
	me := lock.Holder{RunID: r.cfg.Run.RunID, SHA: r.cfg.Run.SHA, Workflow: r.cfg.Run.Workflow}
	return r.d.Lock.Lock(ctx, r.cfg.ProjectName, me, r.cfg.LockTimeout, func(h lock.Holder) {
		r.d.Report.Infof("another deploy of %s is running (%s); waiting up to %s (lock-timeout)", r.cfg.ProjectName, h, r.cfg.LockTimeout)
	})
}

// HostLocker is the Locker of the host the deploy runs on: a flock(2) on a
// file per project in Dir (DefaultLockDir when empty).
type HostLocker struct{ Dir string }

// Lock takes the project's lock file.
func (h HostLocker) Lock(ctx context.Context, project string, me lock.Holder, timeout time.Duration, onWait func(lock.Holder)) (Unlocker, error) {
	dir := h.Dir
	if dir == "" {
		dir = DefaultLockDir
	}
	return lock.Acquire(ctx, dir, project, me, timeout, onWait)
}

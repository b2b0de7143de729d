// Package fleet rolls the same checked deploy across a static list of
// hosts. The runner does not reach into hosts itself: on each host it
// starts the helper the hoist uses (package hosthelper), through that host's
// Docker API, so host nginx, /proc evidence and health probes stay local
// to the host; the runner only orders the hosts, streams their logs,
// gathers their results as data and, when a later host fails (or the
// workflow is cancelled), returns the hosts it already switched to their
// previous color with a rollback run.
//
// The rolling loop (Rollout) talks to hosts through the small Driver
// interface, so its order of events (preflight, fleet lock, skip, roll,
// stop, roll back) is tested with a fake in milliseconds; Docker is the
// real Driver (docker.go), reached over SSH or TCP+TLS (dial.go). What a
// host may go through is one table (status.go): every change of a host's
// status goes through it. The rollout reports through the Reporter
// interface it defines here.
//
// It is a rolling loop over a static list, not an orchestrator: dozens of
// hosts, autoscaling or many services belong to Swarm or Kubernetes (see
// the README).
package fleet

import (
	"context"
	"sync"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// Host is one host of the fleet.
type Host struct {
	// Name is how logs, outputs and the summary name it: user@host:port
	// or host:port, as the hosts input gives it (never a secret).
	Name     string
	Endpoint config.Endpoint
}

// HostsOf lists the fleet's hosts in the order the hosts input gives them:
// the order they deploy in.
func HostsOf(f config.Fleet) []Host {
	out := make([]Host, 0, len(f.Hosts))
	for _, e := range f.Hosts {
		out = append(out, Host{Name: e.String(), Endpoint: e})
	}
	return out
}

// Reporter is what a rollout says to the runner through
// (*report.Reporter implements it). Every argument may hold a host's
// words: an implementation cleans what it prints. Its methods are called
// from several goroutines at once.
type Reporter interface {
	// Phase opens a group of lines (a step of the rollout, or one host's
	// deploy); end closes it.
	Phase(name string) (end func())
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
}

// Driver runs things on the fleet's hosts. Its methods may be called for
// several hosts at once.
type Driver interface {
	// Connect reaches h's Docker daemon and makes the helper's image
	// present there. It returns the daemon's identity (its id and host
	// name), which orders the fleet lock whatever name the hosts input
	// gives the host. It changes nothing a deploy serves.
	Connect(ctx context.Context, h Host) (daemonID string, err error)
	// Lock takes h's fleet lock for the project: with wait, waiting up
	// to lock-timeout while another rollout holds it; without, failing at
	// once (ErrLockBusy). The Lease says when the lock ends before it is
	// given back (its helper exited: the host's daemon restarted, the
	// connection dropped); the lock also ends when the runner or its
	// connection goes away.
	Lock(ctx context.Context, h Host, wait bool) (*Lease, error)
	// Run runs one deploy in mode on h (deploy, rollback or status) and
	// returns its result. jobs says what the deploy does with the compose
	// file's jobs; its Settled, when set, is called (at most once, from
	// another goroutine, before Run returns) when the host says its jobs
	// have settled. Cancelling ctx tells the deploy to stop; it then
	// leaves h on the color it served (the result says what it did). An
	// error means no result came back: the helper could not be started,
	// or h went away during the deploy; a *TransientError when the
	// connection to h's daemon failed or dropped. A rollback, once
	// started, finishes on h even when the runner goes away.
	Run(ctx context.Context, h Host, mode config.Mode, jobs deploy.Jobs) (HostResult, error)
}

// Lease is a fleet lock held on one host.
type Lease struct {
	release  func()
	released sync.Once
	lost     chan struct{}
	loseOnce sync.Once
	cause    error
}

// NewLease returns a held lock that release gives back, and the function
// that says it was lost (once; later calls do nothing).
func NewLease(release func()) (*Lease, func(cause error)) {
	l := &Lease{release: release, lost: make(chan struct{})}
	return l, func(cause error) {
		l.loseOnce.Do(func() {
			l.cause = cause
			close(l.lost)
		})
	}
}

// Release gives the lock back; it may be called more than once.
func (l *Lease) Release() { l.released.Do(l.release) }

// Lost is closed when the lock ended before Release.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Cause says why the lock was lost, once Lost is closed.
func (l *Lease) Cause() error {
	select {
	case <-l.lost:
		return l.cause
	default:
		return nil
	}
}

// Package deploytest holds test doubles of what a deploy talks to (Docker,
// nginx's include, the drain, the lock, the job log), for the deploy's own
// tests and for packages that drive a deploy. They keep their state in
// memory, record every call that changes something, so that a test can
// assert exact side effects, and fail or block where a test's Hook says so.
//
// They live here, not in package deploy, so that they never show up in the
// production package's API (as net/http/httptest beside net/http).
package deploytest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/lock"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// Call is one recorded call to a double: its method and its subject (a
// project, or the color an include names).
type Call struct{ Method, Arg string }

func (c Call) String() string { return c.Method + " " + c.Arg }

// Strings gives calls as "Method Arg" lines, for comparing with a list a
// test writes out.
func Strings(calls []Call) []string {
	out := []string{}
	for _, c := range calls {
		out = append(out, c.String())
	}
	return out
}

// Hook runs first in every method of a double, with the method's name and
// subject; an error it returns is the method's. A Hook may block until
// ctx ends, like a daemon that stopped answering.
type Hook func(ctx context.Context, method, arg string) error

// Drain is a deploy.DrainFunc (its Drain method) that returns at once and
// records which upstreams it drained.
type Drain struct {
	mu    sync.Mutex
	calls []Call
	caps  []time.Duration
	// Result and Err are what Drain returns.
	Result nginx.DrainResult
	Err    error
}

var _ deploy.DrainFunc = (&Drain{}).Drain

// Drain returns Result and Err at once.
func (f *Drain) Drain(_ context.Context, _ *nginx.Reload, upstream string, max time.Duration) (nginx.DrainResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{"Drain", upstream})
	f.caps = append(f.caps, max)
	return f.Result, f.Err
}

// Caps returns the longest wait each drain was given, in order.
func (f *Drain) Caps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.caps...)
}

// Calls returns the drains, in order.
func (f *Drain) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Locker is a deploy.Locker held by nobody, unless Hook fails Lock. A
// second Lock while it is held fails as a timeout would.
type Locker struct {
	mu       sync.Mutex
	held     bool
	released int
	Hook     Hook
	// ReleaseErr, when set, is what Release returns; the lock is released
	// all the same, as a flock is when its file is closed.
	ReleaseErr error
}

var _ deploy.Locker = (*Locker)(nil)

// Lock takes the lock.
func (f *Locker) Lock(ctx context.Context, project string, _ lock.Holder, _ time.Duration, _ func(lock.Holder)) (deploy.Unlocker, error) {
	if f.Hook != nil {
		if err := f.Hook(ctx, "Lock", project); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held {
		return nil, fmt.Errorf("%w: the fake lock of %s is held", lock.ErrTimeout, project)
	}
	f.held = true
	return unlocker{f}, nil
}

// Held reports whether the lock is held, and how often it was released.
func (f *Locker) Held() (held bool, released int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held, f.released
}

type unlocker struct{ f *Locker }

func (u unlocker) Release() error {
	u.f.mu.Lock()
	defer u.f.mu.Unlock()
	u.f.held = false
	u.f.released++
	return u.f.ReleaseErr
}

package deploy

// Fakes of a deploy's Target, for tests here and in packages that drive a
// deploy. They keep their state in memory, record every call that changes
// something, and fail or block where a test's Hook says so.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/lock"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// Call is one recorded call to a fake: its method and its subject (a
// project, or the color an include names).
type Call struct{ Method, Arg string }

func (c Call) String() string { return c.Method + " " + c.Arg }

// Hook runs first in every method of a fake, with the method's name and
// subject; an error it returns is the method's. A Hook may block until
// ctx ends, like a daemon that stopped answering.
type Hook func(ctx context.Context, method, arg string) error

// FakeSwitch is a Switch holding the include in memory. Like the real
// one, a failed Switch leaves the include as it was.
type FakeSwitch struct {
	mu      sync.Mutex
	include []byte
	exists  bool
	calls   []Call
	// PendingLoad is what Pending answers: an include written but never
	// loaded by nginx.
	PendingLoad bool
	// Inclusion is what FindInclusion answers; nil means included in a
	// server block.
	Inclusion *nginx.Inclusion
	Hook      Hook
}

var _ Switch = (*FakeSwitch)(nil)

// NewFakeSwitch returns a switch whose include holds include (none when
// nil).
func NewFakeSwitch(include []byte) *FakeSwitch {
	return &FakeSwitch{include: include, exists: include != nil}
}

// Include returns the include's bytes and whether it exists.
func (f *FakeSwitch) Include() ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.include, f.exists
}

// Calls returns the calls that changed something (or would have), in
// order; a Switch is recorded with the color its include names.
func (f *FakeSwitch) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

func (f *FakeSwitch) record(ctx context.Context, method, arg string) error {
	f.mu.Lock()
	f.calls = append(f.calls, Call{method, arg})
	f.mu.Unlock()
	if f.Hook != nil {
		return f.Hook(ctx, method, arg)
	}
	return nil
}

// Read returns the include.
func (f *FakeSwitch) Read() ([]byte, bool, error) {
	include, exists := f.Include()
	return include, exists, nil
}

// Switch replaces the include.
func (f *FakeSwitch) Switch(ctx context.Context, next []byte) (*nginx.Reload, error) {
	if err := f.record(ctx, "Switch", includeColor(next)); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.include, f.exists = next, true
	return &nginx.Reload{}, nil
}

// Restore puts prev back.
func (f *FakeSwitch) Restore(ctx context.Context, prev []byte, existed bool) error {
	if err := f.record(ctx, "Restore", includeColor(prev)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.include, f.exists = prev, existed
	return nil
}

// Pending answers PendingLoad.
func (f *FakeSwitch) Pending() (pending, ok bool, why string) {
	return f.PendingLoad, true, "the fake says so"
}

// RemoveStaleTemps records the call.
func (f *FakeSwitch) RemoveStaleTemps() ([]string, error) {
	return nil, f.record(context.Background(), "RemoveStaleTemps", "")
}

// ShutdownTimeoutSet answers true.
func (f *FakeSwitch) ShutdownTimeoutSet(context.Context) (bool, error) { return true, nil }

// FindFrontDoor finds none.
func (f *FakeSwitch) FindFrontDoor(context.Context, string) (nginx.FrontDoor, bool, error) {
	return nginx.FrontDoor{}, false, nil
}

// includeColor names the color an include's marker names, "none" without
// one.
func includeColor(include []byte) string {
	m, found, err := nginx.ReadMarker(include)
	if err != nil || !found || m.Color == color.None {
		return "none"
	}
	return m.Color.String()
}

// FakeDrain records which upstreams it drained.
type FakeDrain struct {
	mu    sync.Mutex
	calls []Call
}

// Drain returns at once.
func (f *FakeDrain) Drain(_ context.Context, _ *nginx.Reload, upstream string, _ time.Duration) (nginx.DrainResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{"Drain", upstream})
	return nginx.DrainResult{}, nil
}

// Calls returns the drains, in order.
func (f *FakeDrain) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// FakeLocker is a Locker held by nobody, unless Hook fails Lock.
type FakeLocker struct {
	mu       sync.Mutex
	held     bool
	released int
	Hook     Hook
}

// Lock takes the lock.
func (f *FakeLocker) Lock(ctx context.Context, project string, _ lock.Holder, _ time.Duration, _ func(lock.Holder)) (Unlocker, error) {
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
	return fakeUnlock{f}, nil
}

// Held reports whether the lock is held, and how often it was released.
func (f *FakeLocker) Held() (held bool, released int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held, f.released
}

type fakeUnlock struct{ f *FakeLocker }

func (u fakeUnlock) Release() error {
	u.f.mu.Lock()
	defer u.f.mu.Unlock()
	u.f.held = false
	u.f.released++
	return nil
}

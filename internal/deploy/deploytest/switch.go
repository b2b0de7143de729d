package deploytest

// Switch: nginx's include as a deploy sees it, in memory.

import (
	"context"
	"fmt"
	"sync"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// Switch is a deploy.Switch holding the include in memory. Like the real
// one, a failed Switch leaves the include as it was.
type Switch struct {
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
	// StaleTemps are the temp files RemoveStaleTemps reports it removed,
	// as a killed deploy leaves them next to the include.
	StaleTemps []string
	// NoShutdownTimeout makes ShutdownTimeoutSet say that nginx sets no
	// worker_shutdown_timeout.
	NoShutdownTimeout bool
	// FrontDoor is what FindFrontDoor finds in nginx's config; nil finds
	// none.
	FrontDoor *nginx.FrontDoor
	// PreflightErr is what Preflight answers (nginx not running, a config
	// already broken).
	PreflightErr error
	// Stopped makes CheckServing find no nginx running.
	Stopped bool
	// Prepares counts Prepare calls.
	Prepares int
	Hook     Hook
}

var _ deploy.Switch = (*Switch)(nil)

// NewSwitch returns a switch whose include holds include (none when nil).
func NewSwitch(include []byte) *Switch {
	return &Switch{include: include, exists: include != nil}
}

// SetInclude makes include the include on disk, as an earlier deploy (or
// the seed's deploy.sh) left it, without recording a call.
func (f *Switch) SetInclude(include []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.include, f.exists = include, true
}

// Include returns the include's bytes and whether it exists.
func (f *Switch) Include() ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.include, f.exists
}

// Calls returns the calls that changed something (or would have), in
// order; a Switch is recorded with the color its include names.
func (f *Switch) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

func (f *Switch) record(ctx context.Context, method, arg string) error {
	f.mu.Lock()
	f.calls = append(f.calls, Call{method, arg})
	f.mu.Unlock()
	if f.Hook != nil {
		return f.Hook(ctx, method, arg)
	}
	return nil
}

// Read returns the include.
func (f *Switch) Read() ([]byte, bool, error) {
	include, exists := f.Include()
	return include, exists, nil
}

// Switch replaces the include.
func (f *Switch) Switch(ctx context.Context, next []byte) (*nginx.Reload, error) {
	if err := f.record(ctx, "Switch", includeColor(next)); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.include, f.exists = next, true
	return &nginx.Reload{}, nil
}

// Restore puts prev back.
func (f *Switch) Restore(ctx context.Context, prev []byte, existed bool) error {
	if err := f.record(ctx, "Restore", includeColor(prev)); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.include, f.exists = prev, existed
	return nil
}

// Pending answers PendingLoad.
func (f *Switch) Pending() (pending, ok bool, why string) {
	return f.PendingLoad, true, "the fake says so"
}

// RemoveStaleTemps records the call and reports StaleTemps removed, once.
func (f *Switch) RemoveStaleTemps() ([]string, error) {
	if err := f.record(context.Background(), "RemoveStaleTemps", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	removed := f.StaleTemps
	f.StaleTemps = nil
	return removed, nil
}

// ShutdownTimeoutSet answers true, unless NoShutdownTimeout.
func (f *Switch) ShutdownTimeoutSet(context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.NoShutdownTimeout, nil
}

// FindFrontDoor answers FrontDoor, or finds none.
func (f *Switch) FindFrontDoor(context.Context, string) (nginx.FrontDoor, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FrontDoor == nil {
		return nginx.FrontDoor{}, false, nil
	}
	return *f.FrontDoor, true, nil
}

// FindInclusion answers Inclusion, or an include in a server block.
func (f *Switch) FindInclusion(ctx context.Context, _ string) (nginx.Inclusion, error) {
	if f.Hook != nil {
		if err := f.Hook(ctx, "FindInclusion", ""); err != nil {
			return nginx.Inclusion{}, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Inclusion != nil {
		return *f.Inclusion, nil
	}
	return nginx.Inclusion{Chains: []string{"http server"}}, nil
}

// includeColor names the color an include's marker names, "none" without
// one: "blue+green:10" for a canary step, "maintenance:blue" for the
// maintenance include.
func includeColor(include []byte) string {
	m, found, err := nginx.ReadMarker(include)
	switch {
	case err != nil || !found || m.Color == color.None:
		return "none"
	case m.Maintenance:
		return "maintenance:" + m.Color.String()
	case m.Canary != color.None:
		return fmt.Sprintf("%s+%s:%d", m.Color, m.Canary, m.Percent)
	}
	return m.Color.String()
}

// Preflight answers PreflightErr, after the Hook ("Preflight").
func (f *Switch) Preflight(ctx context.Context) error {
	if f.Hook != nil {
		if err := f.Hook(ctx, "Preflight", ""); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.PreflightErr
}

// Prepare makes next ready, changing nothing; the Hook ("Prepare") may
// fail it as nginx -t on a candidate copy would.
func (f *Switch) Prepare(ctx context.Context, next []byte) (*nginx.Prepared, error) {
	f.mu.Lock()
	f.Prepares++
	f.mu.Unlock()
	if f.Hook != nil {
		if err := f.Hook(ctx, "Prepare", includeColor(next)); err != nil {
			return nil, err
		}
	}
	return &nginx.Prepared{Next: append([]byte(nil), next...), Validated: true}, nil
}

// Commit switches to the prepared include; it is recorded as the Switch
// it is.
func (f *Switch) Commit(ctx context.Context, p *nginx.Prepared) (*nginx.Reload, error) {
	return f.Switch(ctx, p.Next)
}

// CheckServing reads the include back; nginx runs unless Stopped.
func (f *Switch) CheckServing(context.Context) nginx.Serving {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := nginx.Serving{IncludeExists: f.exists, Observed: true, Running: !f.Stopped}
	if f.exists {
		m, found, err := nginx.ReadMarker(f.include)
		v.Marker, v.Marked = m, found && err == nil
	}
	return v
}

package deploy

import (
	"errors"
	"fmt"
)

// Sentinel errors a caller can test for with errors.Is: a failed deploy
// matches the one of the phase that failed.
var (
	ErrPreflight  = errors.New("preflight check failed")
	ErrLock       = errors.New("failed to take the deploy lock")
	ErrFindLive   = errors.New("failed to find the live color")
	ErrStart      = errors.New("failed to start the new color")
	ErrUnhealthy  = errors.New("new color did not become healthy")
	ErrSwitch     = errors.New("failed to switch nginx")
	ErrObserve    = errors.New("new color failed inside the observation window")
	ErrNoRollback = errors.New("nothing to roll back to")
)

var kindSentinel = map[PhaseKind]error{
	PhasePreflight:  ErrPreflight,
	PhaseLock:       ErrLock,
	PhaseFind:       ErrFindLive,
	PhaseStart:      ErrStart,
	PhaseHealth:     ErrUnhealthy,
	PhaseCanary:     ErrCanary,
	PhaseSwitch:     ErrSwitch,
	PhaseObserve:    ErrObserve,
	PhaseSingletons: ErrSingleton,
}

// PhaseError is a failed deploy: which phase failed, why, what the user
// can do about it, and what was done to leave the host as it was. The
// CLI prints it once; nothing below adds its phase's name to a cause.
type PhaseError struct {
	Kind  PhaseKind
	Phase string // the phase's display name
	Err   error  // the cause
	// Hint says what to do next, when the cause alone does not.
	Hint   string
	Undone string // what was undone, in words; empty if nothing was needed
}

func (e *PhaseError) Error() string {
	return fmt.Sprintf("%s failed: %v", e.Phase, e.Err)
}

// Unwrap gives errors.Is and errors.As the cause's chain.
func (e *PhaseError) Unwrap() error { return e.Err }

// Is matches the sentinel of the phase's kind, so errors.Is(err,
// ErrUnhealthy) holds for any failed health check whatever its cause.
func (e *PhaseError) Is(target error) bool {
	s, ok := kindSentinel[e.Kind]
	return ok && target == s
}

// Details is what follows the cause when the error is shown: the hint and
// what was undone, one per line.
func (e *PhaseError) Details() []string {
	var out []string
	if e.Hint != "" {
		out = append(out, e.Hint)
	}
	if e.Undone != "" {
		out = append(out, e.Undone)
	}
	return out
}

// hinted is a cause that knows what the user should do about it. The hint
// travels beside the cause instead of inside its text, so that the cause
// can be wrapped or shown on its own.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// withHint attaches what to do next to err.
func withHint(err error, format string, args ...any) error {
	return &hinted{err: err, hint: fmt.Sprintf(format, args...)}
}

// newPhaseError makes the error of a failed phase, lifting a hint out of
// the cause's chain.
func newPhaseError(kind PhaseKind, phase string, err error) *PhaseError {
	pe := &PhaseError{Kind: kind, Phase: phase, Err: err}
	var h *hinted
	if errors.As(err, &h) {
		pe.Hint = h.hint
	}
	return pe
}

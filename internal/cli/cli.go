// Package cli wires the deploy to the outside world: it reads the inputs
// from the environment it is handed, decides once which role this process
// plays (see Role), connects to Docker and nginx, runs the deploy or the
// rollout, and speaks to the runner. main stays a few lines around it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/fleet"
	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailed  = 1 // the deploy failed; the live color still serves
	ExitInvalid = 2 // bad inputs; nothing was touched
)

// Options are the process's surroundings, handed in by main.
type Options struct {
	Environ []string // os.Environ()
	Cwd     string
	Stdout  io.Writer
	// Stdin is os.Stdin: a hoisted helper reads its environment there.
	Stdin io.Reader
	// LockDir overrides deploy.DefaultLockDir; the BLUEGREEN_LOCK_DIR
	// environment variable does the same for the binary.
	LockDir string
	// StateDir overrides ledger.DefaultDir, where each project's history
	// lives; the BLUEGREEN_STATE_DIR environment variable does the same.
	StateDir string
	// Procfs overrides /proc for observing nginx (tests).
	Procfs string
	// OnResult, when set, receives the deploy's Result (tests, benchmarks).
	OnResult func(*deploy.Result)
	// HelperBinary is the static binary a fleet's helpers run on the
	// hosts (default: this process's own executable, as in the action).
	HelperBinary string
	// OnFleet, when set, receives a fleet rollout's Outcome (tests).
	OnFleet func(*fleet.Outcome)
}

// Main plays this process's role and returns the process exit code: Run,
// then ExitCode.
func Main(ctx context.Context, opts Options) int {
	return ExitCode(Run(ctx, opts))
}

// Run plays the role this process's environment gives it (see Role) and
// returns its failure. The failure has already been said to the runner,
// where the most was known about it (its title, what to do, what was
// undone); what is left is ExitCode.
func Run(ctx context.Context, opts Options) error {
	return run(ctx, opts, dispatch{roles: roles, inDocker: hosthelper.InDocker})
}

// ErrInvalid marks a failure found before anything was touched: inputs, or
// a host setup the user must change. ExitCode maps it to ExitInvalid.
var ErrInvalid = errors.New("invalid inputs; nothing was touched")

// invalid marks err with ErrInvalid, keeping its text and its chain.
func invalid(err error) error { return invalidError{err} }

type invalidError struct{ err error }

func (e invalidError) Error() string   { return e.err.Error() }
func (e invalidError) Unwrap() []error { return []error{e.err, ErrInvalid} }

// ExitError is a failure already said elsewhere that comes with its own
// exit code: the helper's, which the launcher passes on unchanged.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("the helper exited with code %d", e.Code) }

// ExitCode maps a role's error to the process's exit code, the one place
// that does: nil is ExitOK, an ExitError its own code, ErrInvalid
// ExitInvalid, anything else ExitFailed.
func ExitCode(err error) int {
	var ee *ExitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.Code
	case errors.Is(err, ErrInvalid):
		return ExitInvalid
	}
	return ExitFailed
}

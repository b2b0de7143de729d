// Package nginx owns the switch between the two colors. It renders the
// include nginx reads, reads the live color back from it, replaces it
// atomically, tests and reloads nginx, confirms that the master really
// applied the new config (a reload that exits 0 only means a signal was
// sent), puts the previous include back on any failure, and drains the old
// workers before the old color may be stopped.
package nginx

import (
	"context"
	"errors"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

// Sentinel errors, wrapped with their detail, so that the deploy can tell
// the failures apart with errors.Is and tell the user what to do.
var (
	// ErrInvalidTemplate means the include template does not parse or does
	// not render for both colors.
	ErrInvalidTemplate = errors.New("invalid include template")
	// ErrInvalidTemplateData means the values given to a template would
	// produce an include that cannot be read back or would inject directives.
	ErrInvalidTemplateData = errors.New("invalid include template data")
	// ErrLiveMismatch means the include's marker names one color while its
	// directives point at the other: someone edited it by hand.
	ErrLiveMismatch = errors.New("include marker and directives disagree")
	// ErrAmbiguousInclude means the include has no marker and points at both
	// colors, so the live color cannot be told from it.
	ErrAmbiguousInclude = errors.New("include points at both colors")
	// ErrNotConfigured means a Switcher lacks its include path or commands.
	ErrNotConfigured = errors.New("nginx switcher is not configured")
	// ErrWrite means the new include could not be written into place.
	ErrWrite = errors.New("failed to write the include")
	// ErrConfigTest means nginx -t rejected the config with the new include.
	ErrConfigTest = errors.New("nginx config test failed")
	// ErrReload means the reload command itself failed (nothing was applied).
	ErrReload = errors.New("nginx reload command failed")
	// ErrReloadNotConfirmed means the reload signal was sent but no nginx
	// master started new workers in time: the master most likely rejected
	// the config (bind, log file or shared memory errors) and kept the old one.
	ErrReloadNotConfirmed = errors.New("nginx reload not confirmed")
	// ErrRestoreFailed means putting the previous include back failed too:
	// nginx may serve a broken or wrong include and needs a human.
	ErrRestoreFailed = errors.New("restoring the previous include failed")
)

// RunFunc runs a command and returns an *execx.Error (exit code and
// output) when it fails; execx.Run is the real one. Tests pass fakes.
type RunFunc func(ctx context.Context, args []string) (execx.Result, error)

var _ RunFunc = execx.Run

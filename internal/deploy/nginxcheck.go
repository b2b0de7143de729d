package deploy

// The preflight's check of nginx itself: it runs, and its config passes
// nginx -t as it is, before anything is touched.

import (
	"context"
	"errors"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// preflight loads both colors' projects and checks everything that can be
// checked before anything is touched: the files (all their problems at
// once), nginx, then the host.
func (r *run) preflight(ctx context.Context) error {
	if err := r.checkFiles(); err != nil {
		return err
	}
	if err := r.checkNginx(ctx); err != nil {
		return err
	}
	return r.hostChecks(ctx)
}

// hostProblem is a problem of the host found before anything was touched
// (nginx not running, its config already broken): like an invalid input
// it stops the run with exit code 2, with nginx's own words.
type hostProblem struct{ err error }

func (h *hostProblem) Error() string   { return h.err.Error() }
func (h *hostProblem) Unwrap() []error { return []error{h.err, config.ErrInvalid} }

// checkNginx stops the run when nginx does not run or its config already
// fails nginx -t (another server block's missing certificate, another
// project's include): the switch would fail the same way after the new
// color was started. It warns when nginx sets no worker_shutdown_timeout.
// Mode status and abort change nothing in nginx and only say so.
func (r *run) checkNginx(ctx context.Context) error {
	readOnly := r.cfg.Mode == config.ModeStatus || r.cfg.Mode == config.ModeAbort
	var err error
	if lerr := r.withNginx(ctx, func() error { err = r.d.Nginx.Preflight(ctx); return nil }); lerr != nil {
		return lerr
	}
	switch {
	case err == nil:
	case readOnly && (errors.Is(err, nginx.ErrNotRunning) || errors.Is(err, nginx.ErrConfigBroken)):
		r.d.Report.Warnf("%v", err)
	case errors.Is(err, nginx.ErrNotRunning) || errors.Is(err, nginx.ErrConfigBroken):
		return &hostProblem{err}
	default:
		// nginx -t could not be run at all: the switch says why, with
		// the new color proven; a preflight guess would stop deploys
		// that work.
		r.d.Report.Warnf("could not check nginx before the deploy: %v", err)
	}
	if readOnly {
		return nil
	}
	if set, err := r.d.Nginx.ShutdownTimeoutSet(ctx); err == nil && !set {
		r.d.Report.Warnf("%s", nginx.LongLivedWarning(r.cfg.DrainTimeout))
	}
	return nil
}

package deploy

// Rollback: back to the kept previous color, started again (a deploy id
// from the history is in history.go).

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
)

// rollback goes back to what to names: the previous color, or a deploy
// from the history.
func (r *run) rollback(ctx context.Context) error {
	if to := r.cfg.Operate.RollbackTo; to != "" && to != config.RollbackPrevious {
		return r.rollbackTo(ctx, to)
	}
	return r.rollbackPrevious(ctx)
}

// rollbackPrevious brings the previous color back: its containers were
// kept, stopped, by keep-previous, so it returns with exactly the image
// and settings it served with.
func (r *run) rollbackPrevious(ctx context.Context) error {
	if r.live.Color == color.None {
		const name = "Start the previous color again"
		err := r.phase(PhaseStart, name, func() error {
			return fmt.Errorf("%w: nothing is live, so there is no previous color to go back to", ErrNoRollback)
		})
		return newPhaseError(PhaseStart, name, err)
	}
	r.target = r.live.Color.Other()
	r.res.Target = r.target
	plan := r.plans[r.target]
	project := r.cfg.ProjectFor(r.target)
	if cs, err := r.d.Engine.List(ctx, project); err == nil && len(cs) == 0 && r.res.RollbackTo == "" {
		// No kept copy (keep-previous was off, or it was removed): the
		// history still knows what served before.
		return r.rollbackFromHistory(ctx, fmt.Sprintf("%s has no containers (no kept previous color)", project))
	}
	start := fmt.Sprintf("Start %s again (%s)", r.target, project)
	var traffic compose.Container
	err := r.phase(PhaseStart, start, func() error {
		cs, err := r.d.Engine.Start(ctx, project)
		if errors.Is(err, compose.ErrNothingToStart) {
			return withHint(fmt.Errorf("%w: %s has no containers", ErrNoRollback, project),
				"deploy with keep-previous: true, so that the previous color is stopped but kept for mode: rollback")
		}
		if err != nil {
			return err
		}
		traffic = findService(cs, plan.Service)
		if traffic.ID == "" {
			return fmt.Errorf("%w: %s has no container of service %s", ErrNoRollback, project, plan.Service)
		}
		r.res.Image = traffic.Image
		if r.res.RollbackTo == "" {
			r.res.RollbackTo = traffic.DeployID
		}
		// The kept color's images were on the host all along: this run
		// brought none of them (retain-images may only remove images the
		// action brought).
		r.res.Images = r.images(ctx, cs, nil)
		for svc, img := range r.res.Images {
			img.Pulled = false
			r.res.Images[svc] = img
		}
		return nil
	})
	if err != nil {
		pe := newPhaseError(PhaseStart, start, err)
		if errors.Is(err, ErrNoRollback) {
			return pe // a refusal: there was no kept color to start
		}
		return r.fail(ctx, pe, traffic, originKept)
	}
	r.res.RolledBack = true
	return r.promote(ctx, plan, traffic, originKept)
}

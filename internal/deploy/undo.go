package deploy

// Undoing: a rollback to the kept previous color, the observation
// window and its switch-back, and the clean-up of a failed new color.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
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
		r.res.Images = r.images(ctx, cs, nil)
		return nil
	})
	if err != nil {
		pe := newPhaseError(PhaseStart, start, err)
		if errors.Is(err, ErrNoRollback) {
			return pe
		}
		return r.abandon(ctx, pe, traffic, stopIt)
	}
	r.res.RolledBack = true
	return r.promote(ctx, plan, traffic, stopIt)
}

// observe keeps probing the new color for observe-seconds while the old
// one still runs, so that a version that dies right after passing its
// health check is switched back within seconds.
func (r *run) observe(ctx context.Context, p *plan, traffic compose.Container) error {
	h := r.cfg.Health
	deadline := time.Now().Add(r.cfg.Observe)
	probes := 0
	for {
		if err := r.watchContainer(ctx, traffic); err != nil {
			return err
		}
		if err := r.probeOnce(ctx, p); err != nil {
			// A container that just died explains the failed probe better
			// than the probe does; give Docker a moment to notice the exit.
			if serr := sleep(ctx, r.d.pollEvery()+100*time.Millisecond); serr != nil {
				return serr
			}
			if werr := r.watchContainer(ctx, traffic); werr != nil {
				return werr
			}
			return err
		}
		probes++
		if time.Now().After(deadline) {
			r.d.Report.Infof("    %s stayed healthy for %s (%d probes)", r.target, r.cfg.Observe, probes)
			return nil
		}
		if err := sleep(ctx, min(h.Interval, time.Until(deadline))); err != nil {
			return err
		}
	}
}

// sleep waits for d or until ctx ends, returning ctx's cause then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// switchBack undoes a switch whose new color failed inside the observation
// window: nginx gets the previous include back, the new color is drained
// and removed. The old color was never stopped, so it serves at once.
func (r *run) switchBack(ctx context.Context, pe *PhaseError, traffic compose.Container, fail onFailure) error {
	if r.live.Color == color.None {
		r.d.Report.Warnf("%s failed inside the observation window, but there is no previous color to switch back to; it keeps serving", r.target)
		pe.Undone = fmt.Sprintf("Nothing was undone: there is no previous color, so %s keeps serving.", r.target)
		r.res.Undone = pe.Undone
		return pe
	}
	r.showLogs(ctx, traffic)
	var undone []string
	back := fmt.Sprintf("Switch nginx back to %s", r.live.Color)
	var reload *nginx.Reload
	err := r.phase(PhaseSwitchBack, back, func() error {
		cctx, cancel := r.cleanupContext(ctx, 0)
		defer cancel()
		var err error
		reload, err = r.d.Nginx.Switch(cctx, r.live.Include)
		return err
	})
	if err != nil {
		undone = append(undone, fmt.Sprintf("Switching nginx back to %s FAILED: %v; nginx still points at %s.", r.live.Color, err, r.target))
		r.res.Undone = strings.Join(undone, " ")
		pe.Undone = r.res.Undone
		return pe
	}
	r.res.RolledBack = true
	r.res.Active = r.live.Color
	r.fillActive(r.live.Color)
	undone = append(undone, fmt.Sprintf("Switched nginx back to %s (%s).", r.live.Color, r.plans[r.live.Color].URL))
	_ = r.phase(PhaseDrain, fmt.Sprintf("Drain %s", r.target), func() error {
		cctx, cancel := r.cleanupContext(ctx, r.cfg.DrainTimeout)
		defer cancel()
		return r.drain(cctx, reload, r.target)
	})
	undone = append(undone, r.removeTarget(ctx, fail))
	r.res.Undone = strings.Join(undone, " ")
	pe.Undone = r.res.Undone
	return pe
}

// onFailure is what becomes of the new color when its run fails.
type onFailure int

const (
	// removeIt: a color this run started is removed.
	removeIt onFailure = iota
	// stopIt: a rollback target is stopped again, kept for the next
	// rollback.
	stopIt
	// leaveIt: a staged color being promoted is left running, for another
	// promote or an abort.
	leaveIt
)

// removeTarget takes the new color away after a failure, as fail says,
// and says in words what it did. It is bounded by the clean-up timeout
// even when ctx was cancelled.
func (r *run) removeTarget(ctx context.Context, fail onFailure) string {
	ctx, cancel := r.cleanupContext(ctx, 0)
	defer cancel()
	project := r.cfg.ProjectFor(r.target)
	zero := time.Duration(0)
	switch fail {
	case leaveIt:
		return fmt.Sprintf("The staged %s (%s) was left running: promote it again, or remove it with mode: abort.", r.target, project)
	case stopIt:
		if err := r.d.Engine.Stop(ctx, project, &zero); err != nil {
			return fmt.Sprintf("Stopping %s ALSO failed: %v; stop it with: docker compose -p %s stop", project, err, project)
		}
		return fmt.Sprintf("Stopped %s again.", project)
	}
	if err := r.d.Engine.Down(ctx, project, &zero); err != nil {
		return fmt.Sprintf("Removing %s ALSO failed: %v; remove it with: docker compose -p %s down", project, err, project)
	}
	return fmt.Sprintf("Removed the new color %s.", project)
}

// showLogs prints the last log lines of a failed new color's traffic
// container, as untrusted text.
func (r *run) showLogs(ctx context.Context, traffic compose.Container) {
	if traffic.ID == "" {
		return
	}
	ctx, cancel := r.cleanupContext(ctx, 0)
	defer cancel()
	if logs, err := r.d.Engine.Logs(ctx, traffic.ID, logTail*2); err == nil && strings.TrimSpace(logs) != "" {
		r.d.Report.Block(fmt.Sprintf("Last log lines of %s (%s)", traffic.Name, r.target), logs)
	}
}

// abandon undoes a deploy that failed before or during the switch: the
// new color is shown (logs) and taken away as fail says; nginx was never
// changed, or the switch itself restored it.
func (r *run) abandon(ctx context.Context, pe *PhaseError, traffic compose.Container, fail onFailure) error {
	r.showLogs(ctx, traffic)
	undone := []string{r.removeTarget(ctx, fail)}
	if r.live.Color != color.None {
		undone = append(undone, fmt.Sprintf("nginx still serves %s (%s); nothing else was changed.", r.live.Color, r.plans[r.live.Color].URL))
	} else {
		undone = append(undone, "nginx's include was left as it was.")
	}
	r.res.Undone = strings.Join(undone, " ")
	r.res.Active = r.live.Color
	r.res.RolledBack = false
	if r.live.Color != color.None {
		r.fillActive(r.live.Color)
	}
	pe.Undone = r.res.Undone
	return pe
}

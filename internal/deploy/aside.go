package deploy

// The rollback copy: the idle color's kept containers (the previous
// version, stopped by keep-previous) are set aside, renamed, when a deploy
// starts the new version in their place, and removed only once the new
// version serves. Every failure before that puts them back; a run killed
// in between is reconciled by the next run's find phase.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
)

// setAside frees the idle color's container names for the new version by
// renaming its containers aside, after saying which version they hold.
func (r *run) setAside(ctx context.Context, p *plan) error {
	project := r.cfg.ProjectFor(p.Color)
	cs, err := r.d.Engine.List(ctx, project)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return nil
	}
	r.d.Report.Infof("setting aside the kept %s: renamed, not removed, until the new %s serves (%s)", describeKept(p.Color, p.Service, cs), p.Color, containerNames(cs))
	if _, err := r.d.Engine.SetAside(ctx, project, r.res.DeployID); err != nil {
		// Whatever was renamed goes back at once; nothing new exists yet.
		cctx, cancel := r.cleanupContext(ctx, 0)
		defer cancel()
		if _, perr := r.d.Engine.PutBack(cctx, project); perr != nil {
			return fmt.Errorf("%w; putting the kept %s back ALSO failed: %v", err, p.Color, perr)
		}
		return err
	}
	return nil
}

// describeKept names a kept color by its deploy and its traffic service's
// image: "green (deploy X, image Y)".
func describeKept(c color.Color, service string, cs []compose.Container) string {
	id := deployOf(cs)
	if id == "" {
		id = "unknown"
	}
	img := findService(cs, service).Image
	if img == "" && len(cs) > 0 {
		img = cs[0].Image
	}
	return fmt.Sprintf("%s (deploy %s, image %s)", c, id, img)
}

// disposeStarted takes away the containers this run started after a
// failure before its color served, and puts back what it set aside, so
// that the kept previous version is intact for mode: rollback. It says in
// words what it did.
func (r *run) disposeStarted(ctx context.Context, project string) string {
	zero := time.Duration(0)
	plan := r.plans[r.target]
	held, err := r.d.Engine.ListAside(ctx, project)
	if err != nil {
		return fmt.Sprintf("Listing what was set aside in %s FAILED: %v; nothing was removed; see docker ps -a --filter label=%s=%s.", project, err, compose.LabelProject, project)
	}
	if len(held) == 0 {
		if !r.created {
			return "Nothing was started."
		}
		if err := r.d.Engine.Down(ctx, project, &zero); err != nil {
			return fmt.Sprintf("Removing %s ALSO failed: %v; remove it with: docker compose -p %s down", project, err, project)
		}
		return fmt.Sprintf("Removed the new color %s.", project)
	}
	kept := describeKept(r.target, plan.Service, held)
	var said []string
	if r.created {
		// Remove keeps the networks and volumes the kept copy uses.
		if err := r.d.Engine.Remove(ctx, project, &zero); err != nil {
			return fmt.Sprintf("Removing the new %s ALSO failed: %v; the kept %s is still set aside as %s: remove the new containers, then rename those back (drop the %s... suffix), or run the next deploy, which puts them back.",
				project, err, kept, containerNames(held), ".aside-")
		}
		said = append(said, fmt.Sprintf("Removed the new color %s;", project))
	} else {
		said = append(said, "Nothing new was started;")
	}
	if _, err := r.d.Engine.PutBack(ctx, project); err != nil {
		return strings.Join(append(said, fmt.Sprintf("putting back the kept %s ALSO failed: %v; it is still set aside as %s, and the next run puts it back.", kept, err, containerNames(held))), " ")
	}
	return strings.Join(append(said, fmt.Sprintf("the kept %s was put back.", kept)), " ")
}

// dropAside removes the copy set aside in the color that now serves: the
// switch is confirmed, the old color drained and stopped.
func (r *run) dropAside(ctx context.Context) {
	project := r.cfg.ProjectFor(r.target)
	ctx, cancel := r.cleanupContext(ctx, 0)
	defer cancel()
	held, err := r.d.Engine.ListAside(ctx, project)
	if err != nil || len(held) == 0 {
		if err != nil {
			r.d.Report.Warnf("the copy set aside in %s was not removed: %v; the next run removes it", project, err)
		}
		return
	}
	kept := describeKept(r.target, r.plans[r.target].Service, held)
	if _, err := r.d.Engine.RemoveAside(ctx, project); err != nil {
		r.d.Report.Warnf("the kept %s is replaced, but removing it failed: %v; the next run removes it", kept, err)
		return
	}
	r.d.Report.Infof("the kept %s is replaced; rollback will redeploy it from its image", kept)
}

// reconcileAside repairs what a killed run left set aside. In the color
// that serves, the switch happened: the set-aside copy is replaced and is
// removed. In the idle color, the new version never served: what the run
// started is removed and the kept copy is put back. Promote and abort
// leave the idle color to themselves (a stage sets the kept copy aside
// until its promote or abort), and status only reports.
func (r *run) reconcileAside(ctx context.Context) error {
	for _, c := range color.All {
		project := r.cfg.ProjectFor(c)
		held, err := r.d.Engine.ListAside(ctx, project)
		if err != nil {
			return err
		}
		if len(held) == 0 {
			continue
		}
		kept := describeKept(c, r.plans[c].Service, held)
		live := c == r.live.Color
		switch {
		case r.cfg.Mode == config.ModeStatus:
			r.d.Report.Infof("the kept %s is set aside (%s) by a run that did not finish; the next deploy resolves it", kept, containerNames(held))
		case live:
			if _, err := r.d.Engine.RemoveAside(ctx, project); err != nil {
				return fmt.Errorf("failed to remove the kept %s, which a run that did not finish set aside and %s now replaces: %w", kept, c, err)
			}
			r.d.Report.Infof("a run that did not finish set aside the kept %s, and %s serves since: the kept copy is replaced and was removed", kept, c)
		case r.cfg.Mode == config.ModePromote || r.cfg.Mode == config.ModeAbort:
			// The staged color's kept copy: promote removes it once the
			// staged color serves, abort puts it back.
		default:
			if err := r.putBackIdle(ctx, c, kept); err != nil {
				return err
			}
		}
	}
	return nil
}

// putBackIdle removes what a run that did not finish started in the idle
// color c and puts its kept copy back.
func (r *run) putBackIdle(ctx context.Context, c color.Color, kept string) error {
	project := r.cfg.ProjectFor(c)
	left, err := r.d.Engine.List(ctx, project)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		what := "started"
		if left[0].Staged {
			what = "staged"
		}
		r.d.Report.Infof("removing what a run that did not finish (or a stage never promoted) %s in %s: %s", what, project, containerNames(left))
		zero := time.Duration(0)
		if err := r.d.Engine.Remove(ctx, project, &zero); err != nil {
			return fmt.Errorf("failed to remove the leftovers of %s before putting back the kept %s: %w", project, kept, err)
		}
	}
	cs, err := r.d.Engine.PutBack(ctx, project)
	if err != nil {
		return fmt.Errorf("failed to put back the kept %s: %w", kept, err)
	}
	r.d.Report.Infof("the kept %s, set aside by a run that did not finish, was put back", kept)
	r.live.Running[c] = nil
	for _, ct := range cs {
		if ct.Running {
			r.live.Running[c] = append(r.live.Running[c], ct)
		}
	}
	return nil
}

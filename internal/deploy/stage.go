package deploy

// Staged deploys: start the idle color and prove it without switching
// (stage), switch to it later (promote), or remove it (abort). Between
// stage and promote the staged color runs beside the live one, on its own
// port, for people (and an approval gate) to try.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// Errors of promote and abort; they change nothing.
var (
	ErrNothingStaged   = errors.New("nothing is staged")
	ErrStagedMismatch  = errors.New("another deploy is staged")
	ErrStagedUnhealthy = errors.New("the staged color is not healthy any more")
)

// stage starts the idle color and proves it healthy, like a deploy up to
// its switch, and leaves it running beside the live color.
func (r *run) stage(ctx context.Context) error {
	r.target = r.live.Color.Other()
	r.res.Target = r.target
	plan := r.plans[r.target]
	r.res.Image = plan.Image
	r.res.Active = r.live.Color
	r.fillActive(r.live.Color)

	start := fmt.Sprintf("Start %s (%s)", r.target, r.cfg.ProjectFor(r.target))
	var traffic compose.Container
	if err := r.phase(PhaseStart, start, func() (err error) { traffic, err = r.start(ctx, plan); return err }); err != nil {
		return r.fail(ctx, newPhaseError(PhaseStart, start, err), traffic, originStarted)
	}
	check := fmt.Sprintf("Health check %s", plan.URL+r.cfg.Health.Path)
	if err := r.phase(PhaseHealth, check, func() error { return r.waitHealthy(ctx, plan, traffic) }); err != nil {
		return r.fail(ctx, newPhaseError(PhaseHealth, check, err), traffic, originStarted)
	}
	if r.d.Preview != nil {
		name := fmt.Sprintf("Point the preview at %s", r.target)
		if err := r.phase(PhaseSwitch, name, func() error { return r.pointPreview(ctx, plan, traffic) }); err != nil {
			return r.fail(ctx, newPhaseError(PhaseSwitch, name, err), traffic, originStarted)
		}
	}
	r.res.Staged = r.target
	r.res.PreviewURL = plan.URL
	r.d.Report.Infof("staged %s (deploy %s) on %s beside the live %s; nginx is unchanged. Promote it with mode: promote and deploy-id: %s, or remove it with mode: abort",
		r.target, r.res.DeployID, plan.URL, orNoneColor(r.live.Color), r.res.DeployID)
	return nil
}

// pointPreview writes the preview include for the staged color, checked
// and reloaded like the main switch.
func (r *run) pointPreview(ctx context.Context, plan *plan, traffic compose.Container) error {
	text := r.cfg.Operate.PreviewTemplate
	if text == "" {
		text = config.DefaultPreviewTemplate
	}
	tmpl, err := nginx.ParseTemplate(text)
	if err != nil {
		return fmt.Errorf("nginx-preview-include-template: %w", err)
	}
	next, err := tmpl.Render(r.templateData(plan, traffic))
	if err != nil {
		return fmt.Errorf("nginx-preview-include-template: %w", err)
	}
	return r.withNginx(ctx, func() error { _, err := r.d.Preview.Switch(ctx, next); return err })
}

// staged finds the staged color's traffic container: the idle color,
// running, carrying deploy-id when one is asked for.
func (r *run) staged(ctx context.Context) (compose.Container, error) {
	project := r.cfg.ProjectFor(r.target)
	plan := r.plans[r.target]
	cs, err := r.d.Engine.List(ctx, project)
	if err != nil {
		return compose.Container{}, err
	}
	traffic := findService(cs, plan.Service)
	if traffic.ID == "" || !traffic.Running {
		return compose.Container{}, withHint(fmt.Errorf("%w: %s (the color beside the live %s) has no running %s container", ErrNothingStaged, project, orNoneColor(r.live.Color), plan.Service),
			"run mode: stage first; a deploy, rollback or abort since the stage removes the staged color")
	}
	if want := r.cfg.Operate.DeployID; want != "" && traffic.DeployID != want {
		got := traffic.DeployID
		if got == "" {
			got = "one not made by a stage run"
		}
		return traffic, withHint(fmt.Errorf("%w: %s holds deploy %s, not %s (deploy-id)", ErrStagedMismatch, project, got, want),
			"a later stage replaced the one this run was approved for: approve the newer one, or stage again")
	}
	return traffic, nil
}

// promoteStaged switches to the staged color after checking it is the
// one asked for and still healthy. A failure leaves it running, staged.
func (r *run) promoteStaged(ctx context.Context) error {
	r.target = r.live.Color.Other()
	r.res.Target = r.target
	plan := r.plans[r.target]
	check := fmt.Sprintf("Check the staged %s", r.target)
	var traffic compose.Container
	err := r.phase(PhaseHealth, check, func() (err error) {
		if traffic, err = r.staged(ctx); err != nil {
			return err
		}
		if err := r.watchContainer(ctx, traffic); err != nil {
			return fmt.Errorf("%w: %w", ErrStagedUnhealthy, err)
		}
		if err := r.probeOnce(ctx, plan); err != nil {
			return withHint(fmt.Errorf("%w: %w", ErrStagedUnhealthy, err), "stage again, or abort")
		}
		return nil
	})
	r.res.Active = r.live.Color
	r.fillActive(r.live.Color)
	if err != nil {
		pe := newPhaseError(PhaseHealth, check, err)
		pe.Undone = "Nothing was changed."
		return pe
	}
	// The staged deploy becomes the live one: its id stays the version's
	// name in the include, the outputs and the history.
	if traffic.DeployID != "" {
		r.res.DeployID = traffic.DeployID
	}
	r.res.Image = traffic.Image
	if cs, err := r.d.Engine.List(ctx, r.cfg.ProjectFor(r.target)); err == nil {
		r.res.Images = r.images(ctx, cs, nil)
		for svc, img := range r.res.Images {
			img.Pulled = false // the stage run brought it; its entry says so
			r.res.Images[svc] = img
		}
	}
	return r.promote(ctx, plan, traffic, originStaged)
}

// abort removes the staged color and puts back the kept copy its stage
// set aside; nginx and the live color are untouched. It touches only
// containers a stage run made (compose.LabelStaged, still running): with
// nothing staged it says so and succeeds, leaving the idle color (the kept
// previous version) alone, since a rejected approval may abort a stage
// that never finished.
func (r *run) abort(ctx context.Context) error {
	r.target = r.live.Color.Other()
	r.res.Target = r.target
	r.res.Active = r.live.Color
	r.fillActive(r.live.Color)
	project := r.cfg.ProjectFor(r.target)
	name := fmt.Sprintf("Remove the staged %s (%s)", r.target, project)
	err := r.phase(PhaseStop, name, func() error {
		cs, err := r.d.Engine.List(ctx, project)
		if err != nil {
			return err
		}
		held, err := r.d.Engine.ListAside(ctx, project)
		if err != nil {
			return err
		}
		staged, other := splitStaged(cs)
		if len(staged) == 0 {
			r.d.Report.Infof("nothing is staged: %s", describeIdle(project, other, held))
			return nil
		}
		if len(other) > 0 {
			return fmt.Errorf("%s holds staged containers (%s) beside containers no stage run made (%s); nothing was removed: remove the staged ones with docker rm -f", project, containerNames(staged), containerNames(other))
		}
		if want := r.cfg.Operate.DeployID; want != "" {
			if _, err := r.staged(ctx); err != nil {
				return err
			}
		}
		zero := time.Duration(0)
		if len(held) == 0 {
			if err := r.d.Engine.Down(ctx, project, &zero); err != nil {
				return err
			}
			r.d.Report.Infof("removed the staged %s (%s); nginx still serves %s", r.target, containerNames(cs), orNoneColor(r.live.Color))
			return nil
		}
		// The stage set the kept copy aside: it keeps its networks and
		// comes back.
		if err := r.d.Engine.Remove(ctx, project, &zero); err != nil {
			return err
		}
		kept := describeKept(r.target, r.plans[r.target].Service, held)
		if _, err := r.d.Engine.PutBack(ctx, project); err != nil {
			return fmt.Errorf("removed the staged %s, but putting back the kept %s failed: %w; the next run puts it back", r.target, kept, err)
		}
		r.d.Report.Infof("removed the staged %s (%s) and put back the kept %s; nginx still serves %s", r.target, containerNames(cs), kept, orNoneColor(r.live.Color))
		return nil
	})
	if err != nil {
		pe := newPhaseError(PhaseStop, name, err)
		pe.Undone = "nginx and the live color were not touched."
		return pe
	}
	return nil
}

// splitStaged parts a color's containers into those a stage run made and
// still running, and the others (a kept previous color, a leftover).
func splitStaged(cs []compose.Container) (staged, other []compose.Container) {
	for _, c := range cs {
		// A stage's jobs ran to completion: exited, but its own.
		if c.Staged && (c.Running || c.Restarting || c.Role == compose.Job.String()) {
			staged = append(staged, c)
		} else {
			other = append(other, c)
		}
	}
	return staged, other
}

// describeIdle says what the idle color holds when nothing is staged.
func describeIdle(project string, cs, held []compose.Container) string {
	switch {
	case len(cs) > 0:
		return fmt.Sprintf("%s holds no container a stage run made and that runs (it holds %s, left as they are)", project, containerNames(cs))
	case len(held) > 0:
		return fmt.Sprintf("%s has no containers (%s are set aside by a run that did not finish; the next deploy puts them back)", project, containerNames(held))
	}
	return fmt.Sprintf("%s has no containers", project)
}

// stagedWithoutInclude reports whether, on a host nginx has never been
// switched on (no include), the one running color is a staged one rather
// than a live one: a first deploy that was staged. Promote and abort then
// treat nothing as live.
func (r *run) stagedWithoutInclude(live Live) (color.Color, bool) {
	if live.IncludeExists || (r.cfg.Mode != config.ModePromote && r.cfg.Mode != config.ModeAbort) {
		return color.None, false
	}
	running := color.None
	for _, c := range color.All {
		if len(live.Running[c]) > 0 {
			if running != color.None {
				return color.None, false
			}
			running = c
		}
	}
	return running, running != color.None
}

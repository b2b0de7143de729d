package deploy

// The services' roles as a deploy runs them (issue 17): shared services
// are converged once per host before the new color starts and never
// touched otherwise, jobs run to completion before the rest of the color
// starts, and singletons change color only after the switch, once the old
// color's have stopped.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
)

// RoleEngine is the part of the engine for the services' roles.
type RoleEngine interface {
	// Converge brings the shared services to their definitions as docker
	// compose up -d does, and says what it did to each.
	Converge(ctx context.Context, shared *types.Project) ([]compose.Change, error)
	// StartSingletons starts a project's stopped singleton containers.
	StartSingletons(ctx context.Context, project string) ([]compose.Container, error)
	// StopSingletons stops a project's running singleton containers,
	// within timeout (nil: each container's stop_grace_period).
	StopSingletons(ctx context.Context, project string, timeout *time.Duration) error
	// CheckPlatforms refuses a service whose platform: is not the daemon's.
	CheckPlatforms(ctx context.Context, p *types.Project) error
}

// ErrJobFailed is a job (a service another waits for with condition
// service_completed_successfully) that exited non-zero: the deploy fails
// before anything is switched.
var ErrJobFailed = errors.New("job failed")

// ErrSingleton is a singleton of the new color that failed to start after
// the switch: the deploy switches back.
var ErrSingleton = errors.New("the new color's singleton failed to start")

// jobLogTail is how many of a job's last log lines its group shows.
const jobLogTail = 200

// RoleRun is what a deploy did with the services' roles, for the summary,
// the outputs and the history.
type RoleRun struct {
	// Shared are the shared services, each with what the deploy did to it
	// ("db unchanged", "recreated db: its definition changed").
	Shared []string
	// Jobs are the jobs that ran, each "migrate exited with code 0".
	Jobs []string
	// Singletons are the singletons that changed color.
	Singletons []string
	// singletonsStopped is the color whose singletons the deploy stopped,
	// which a switch back starts again.
	singletonsStopped color.Color
	// singletonImages are the singletons' image ids before the deploy
	// made them present, so that the history says which it pulled.
	singletonImages map[string]string
}

// partsPlatforms refuses, in the preflight, a platform: of any part of
// both colors that is not the daemon's.
func (r *run) partsPlatforms(ctx context.Context) error {
	var problems []string
	seen := map[string]bool{}
	for _, c := range color.All {
		p := r.plans[c]
		if p == nil {
			continue
		}
		for _, part := range []*types.Project{p.Project, p.Singletons, p.Shared} {
			if part == nil {
				continue
			}
			if err := r.d.Engine.CheckPlatforms(ctx, part); err != nil {
				if errors.Is(err, compose.ErrForeignPlatform) {
					if msg := err.Error(); !seen[msg] {
						seen[msg] = true
						problems = append(problems, msg)
					}
					continue
				}
				return err
			}
		}
	}
	if len(problems) > 0 {
		return &config.ValidationError{Problems: problems}
	}
	return nil
}

// convergeShared makes the images of the singletons (which start after
// the switch, when a pull could no longer fail the deploy cleanly) and of
// the shared services present, and converges the shared services, before
// the new color starts: created when missing, recreated only when their
// definition changed, left alone otherwise. It never stops or removes one
// for any other reason.
func (r *run) convergeShared(ctx context.Context, p *plan) error {
	if p.Singletons != nil {
		r.res.Roles.singletonImages = r.imageIDs(ctx, p.Singletons)
		if err := r.d.Engine.EnsureImages(ctx, p.Singletons, r.cfg.Pull, r.d.Registry); err != nil {
			return err
		}
	}
	if p.Shared == nil {
		return nil
	}
	if err := r.d.Engine.EnsureImages(ctx, p.Shared, r.cfg.Pull, r.d.Registry); err != nil {
		return err
	}
	changes, err := r.d.Engine.Converge(ctx, p.Shared)
	r.res.Roles.Shared = nil
	for _, c := range changes {
		r.res.Roles.Shared = append(r.res.Roles.Shared, c.String())
		if c.Kind == compose.Unchanged {
			r.d.Report.Infof("shared service %s left alone: it runs as defined (%s)", c.Service, p.Shared.Name)
			continue
		}
		r.d.Report.Infof("shared service: %s (%s)", c, p.Shared.Name)
	}
	if err != nil {
		return withHint(fmt.Errorf("failed to converge the shared services (%s): %w", p.Shared.Name, err),
			"the live color still serves; see docker compose -p %s ps and the shared service's logs", p.Shared.Name)
	}
	return nil
}

// upColor brings the new color's project up. Its jobs run as docker
// compose runs them: each before the services that wait for it (with
// condition service_completed_successfully), and everything else at once.
// Each job's output is then shown in a group of its own; a job that exited
// non-zero fails the deploy, naming it and its exit code, whatever Up said
// of the services that waited for it. It returns every container Up
// created.
//
// The traffic service starts first (compose.StartFirst): its health check,
// which the switch waits for, begins sooner, while the rest start.
func (r *run) upColor(ctx context.Context, p *plan) ([]compose.Container, error) {
	compose.StartFirst(p.Project, p.Service)
	cs, err := r.d.Engine.Up(ctx, p.Project)
	if jerr := r.waitJobs(ctx, p, cs, err == nil); jerr != nil {
		return cs, jerr
	}
	return cs, err
}

// waitJobs shows each job's output and fails on a non-zero exit code. With
// wait, it first waits for each job container to exit; without (Up
// failed), it looks only at those that have.
func (r *run) waitJobs(ctx context.Context, p *plan, cs []compose.Container, wait bool) error {
	var errs []error
	for _, c := range cs {
		if p.Roles.Of(c.Service) != compose.Job {
			continue
		}
		var done compose.Container
		var err error
		if wait {
			done, err = r.waitExit(ctx, c)
		} else if done, err = r.d.Engine.Inspect(ctx, c.ID); err == nil && !exited(done) {
			continue // it never ran: Up's error says why
		}
		if err != nil {
			return err
		}
		logs, lerr := r.d.Engine.Logs(ctx, c.ID, jobLogTail)
		switch {
		case lerr != nil:
			logs = fmt.Sprintf("(its output could not be read: %v)", lerr)
		case strings.TrimSpace(logs) == "":
			logs = "(the job printed nothing)"
		}
		r.d.Report.Block(fmt.Sprintf("Output of job %s (%s)", c.Service, p.Color), logs)
		r.res.Roles.Jobs = append(r.res.Roles.Jobs, fmt.Sprintf("%s exited with code %d", c.Service, done.ExitCode))
		if done.ExitCode != 0 {
			errs = append(errs, withHint(fmt.Errorf("%w: service %s exited with code %d", ErrJobFailed, c.Service, done.ExitCode),
				"its output is in the group \"Output of job %s\" above; nothing was switched, and the live color still serves", c.Service))
			continue
		}
		r.d.Report.Infof("    job %s exited with code 0", c.Service)
	}
	return errors.Join(errs...)
}

func exited(c compose.Container) bool {
	return !c.Running && !c.Restarting && (c.State == "exited" || c.State == "dead")
}

// waitExit polls a job container until it has exited. It is bounded by
// ctx, as a migration may take long.
func (r *run) waitExit(ctx context.Context, c compose.Container) (compose.Container, error) {
	for {
		cur, err := r.d.Engine.Inspect(ctx, c.ID)
		if err != nil {
			return cur, err
		}
		if exited(cur) {
			return cur, nil
		}
		if err := sleep(ctx, r.d.pollEvery()); err != nil {
			return cur, fmt.Errorf("gave up waiting for job %s to finish: %w", c.Service, err)
		}
	}
}

// hasSingletons reports whether the new color has singletons to start
// after the switch: the plan's, or a kept color's stopped ones.
func (r *run) hasSingletons(ctx context.Context, p *plan, from origin) bool {
	if p.Singletons != nil {
		return true
	}
	if from != originKept {
		return false
	}
	cs, err := r.d.Engine.List(ctx, r.cfg.ProjectFor(r.target))
	if err != nil {
		return false
	}
	for _, c := range cs {
		if c.Role == compose.Singleton.String() {
			return true
		}
	}
	return false
}

// handOverSingletons stops the old color's singletons, then starts the
// new color's: never both at once. It runs once the switch is confirmed
// (and observed), while the old color still runs, so that a failure
// switches back as the observation window does.
func (r *run) handOverSingletons(ctx context.Context, p *plan, from origin) error {
	if old := r.live.Color; old != color.None {
		r.d.Report.Infof("stopping the singletons of %s (%s)", old, r.cfg.ProjectFor(old))
		if err := r.stopSingletons(ctx, old); err != nil {
			return err
		}
		r.res.Roles.singletonsStopped = old
	}
	project := r.cfg.ProjectFor(r.target)
	var cs []compose.Container
	var err error
	if from == originKept {
		cs, err = r.d.Engine.StartSingletons(ctx, project)
	} else {
		for name, svc := range p.Singletons.Services {
			if svc.Labels == nil {
				svc.Labels = types.Labels{}
			}
			svc.Labels[compose.LabelDeployID] = r.res.DeployID
			p.Singletons.Services[name] = svc
		}
		cs, err = r.d.Engine.Up(ctx, p.Singletons)
	}
	var failed compose.Container
	var started []compose.Container
	for _, c := range cs {
		if c.Role != compose.Singleton.String() {
			continue // StartSingletons answers with the whole project
		}
		started = append(started, c)
		r.res.Roles.Singletons = appendOnce(r.res.Roles.Singletons, c.Service)
		if err == nil && failed.ID == "" {
			if werr := r.watchContainer(ctx, c); werr != nil {
				failed, err = c, werr
			}
		}
	}
	if err != nil {
		if failed.ID != "" {
			r.showLogs(ctx, failed)
		}
		return fmt.Errorf("%w: %w", ErrSingleton, err)
	}
	// The history records what the singletons run too: a rollback to this
	// deploy starts them from these images, and pruning keeps them.
	if r.res.Images == nil {
		r.res.Images = map[string]ledger.Image{}
	}
	for svc, img := range r.images(ctx, started, r.res.Roles.singletonImages) {
		if from != originStarted {
			img.Pulled = false // the run that created them brought them
		}
		r.res.Images[svc] = img
	}
	r.d.Report.Infof("started the singletons of %s: %s", r.target, strings.Join(r.res.Roles.Singletons, ", "))
	return nil
}

// stopSingletons stops a color's singletons within their stop grace.
func (r *run) stopSingletons(ctx context.Context, c color.Color) error {
	grace := r.plans[c].StopGrace()
	timeout := r.stopTimeout()
	if timeout != nil {
		grace = *timeout
	}
	ctx, cancel := context.WithTimeout(ctx, grace+time.Minute)
	defer cancel()
	return r.d.Engine.StopSingletons(ctx, r.cfg.ProjectFor(c), timeout)
}

// stopTimeout is the stop-timeout input for the Engine's stops: nil when
// it is unset, so that each container's stop_grace_period holds.
func (r *run) stopTimeout() *time.Duration {
	if r.cfg.StopTimeout > 0 {
		return &r.cfg.StopTimeout
	}
	return nil
}

// restoreSingletons, in a switch back, stops the new color's singletons
// and starts the old color's again, if the deploy had stopped them. It
// says in words what it did ("" when nothing).
func (r *run) restoreSingletons(ctx context.Context) string {
	old := r.res.Roles.singletonsStopped
	if old == color.None {
		return ""
	}
	ctx, cancel := r.cleanupContext(ctx, r.plans[r.target].StopGrace())
	defer cancel()
	if err := r.d.Engine.StopSingletons(ctx, r.cfg.ProjectFor(r.target), r.stopTimeout()); err != nil {
		return fmt.Sprintf("Stopping the singletons of %s FAILED: %v, so those of %s were not started again; start them with: docker compose -p %s start", r.target, err, old, r.cfg.ProjectFor(old))
	}
	if _, err := r.d.Engine.StartSingletons(ctx, r.cfg.ProjectFor(old)); err != nil && !errors.Is(err, compose.ErrNothingToStart) {
		return fmt.Sprintf("Starting the singletons of %s again FAILED: %v; start them with: docker compose -p %s start", old, err, r.cfg.ProjectFor(old))
	}
	r.res.Roles.singletonsStopped = color.None
	return fmt.Sprintf("Started the singletons of %s again.", old)
}

// singletonPhase is the hand-over of the singletons as a phase of
// promote, after the switch and its observation: a failure switches back.
func (r *run) singletonPhase(ctx context.Context, p *plan, from origin) *PhaseError {
	if !r.hasSingletons(ctx, p, from) {
		return nil
	}
	name := fmt.Sprintf("Start the singletons of %s", r.target)
	if err := r.phase(PhaseSingletons, name, func() error { return r.handOverSingletons(ctx, p, from) }); err != nil {
		return newPhaseError(PhaseSingletons, name, err)
	}
	return nil
}

// keepSharedImages adds to keep the images of the shared services: those
// their containers run and those their definitions name. Pruning never
// removes one, even one an earlier deploy pulled when the service was
// still colored.
func (r *run) keepSharedImages(ctx context.Context, keep map[string]bool) {
	if cs, err := r.d.Engine.List(ctx, compose.SharedProjectName(r.cfg.ProjectName)); err == nil {
		for _, c := range cs {
			keep[c.ImageID] = true
		}
	}
	for _, c := range color.All {
		p := r.plans[c]
		if p == nil || p.Shared == nil {
			continue
		}
		for _, svc := range p.Shared.Services {
			if info, err := r.d.Engine.ImageInfo(ctx, svc.Image); err == nil {
				keep[info.ID] = true
			}
		}
	}
}

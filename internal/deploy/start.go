package deploy

// Starting the new color and proving it healthy.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/health"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
)

// start makes sure the images are there (pulled or built), then sets the
// idle color's containers aside (the kept previous version: renamed, not
// removed, so that a failure puts them back) and brings the color's
// project up. It returns the traffic service's container.
func (r *run) start(ctx context.Context, p *plan) (compose.Container, error) {
	project := r.cfg.ProjectFor(p.Color)
	// A fleet's host after the first leaves the jobs out: they ran once,
	// on the first host, in this rollout.
	if err := r.leaveJobsOut(p); err != nil {
		return compose.Container{}, err
	}
	before := r.imageIDs(ctx, p.Project)
	// First: a typo in image, or a registry that is down, must fail
	// before anything of the idle color is touched.
	if err := r.d.Engine.EnsureImages(ctx, p.Project, r.cfg.Pull, r.d.Registry); err != nil {
		return compose.Container{}, err
	}
	// The shared services next, before the idle color is touched: a
	// failure leaves the kept color as it was.
	if err := r.convergeShared(ctx, p); err != nil {
		return compose.Container{}, err
	}
	if err := r.setAside(ctx, p); err != nil {
		return compose.Container{}, err
	}
	// Every container carries this deploy's id, so that a staged color can
	// be matched to its stage run, and the history to what runs; a stage
	// run also marks its containers staged, the only ones abort removes.
	for name, svc := range p.Project.Services {
		if svc.Labels == nil {
			svc.Labels = types.Labels{}
		}
		svc.Labels[compose.LabelDeployID] = r.res.DeployID
		if r.cfg.Mode == config.ModeStage {
			if svc.CustomLabels == nil {
				svc.CustomLabels = types.Labels{}
			}
			svc.CustomLabels[compose.LabelStaged] = "true"
		}
		p.Project.Services[name] = svc
	}
	r.d.Report.Infof("starting %s: service %s, image %s, published on %s", project, p.Service, p.Image, p.URL)
	r.created = true
	containers, err := r.upColor(ctx, p) // and its jobs' outcome
	traffic := findService(containers, p.Service)
	if err != nil {
		return traffic, err
	}
	r.jobsSettled() // every job exited 0
	r.res.Images = r.images(ctx, containers, before)
	if traffic.ID == "" {
		return traffic, fmt.Errorf("no container of service %s was created in %s", p.Service, project)
	}
	return traffic, nil
}

// imageIDs notes which image each service's reference names before the
// images are made present, so that images this run pulls (or builds) can
// be told from images the host already had.
func (r *run) imageIDs(ctx context.Context, p *types.Project) map[string]string {
	ids := map[string]string{}
	for _, svc := range p.Services {
		if info, err := r.d.Engine.ImageInfo(ctx, svc.Image); err == nil {
			ids[svc.Image] = info.ID
		}
	}
	return ids
}

// images records what each service runs: its reference, its image id, a
// digest to pull it again by, and whether this run brought it to the host
// (only such images may ever be removed by retain-images).
func (r *run) images(ctx context.Context, cs []compose.Container, before map[string]string) map[string]ledger.Image {
	out := map[string]ledger.Image{}
	for _, c := range cs {
		img := ledger.Image{Ref: c.Image, ID: c.ImageID}
		if info, err := r.d.Engine.ImageInfo(ctx, c.Image); err == nil {
			if img.ID == "" {
				img.ID = info.ID
			}
			if len(info.RepoDigests) > 0 {
				img.Digest = info.RepoDigests[0]
			}
		}
		img.Pulled = img.ID != "" && before[c.Image] != img.ID
		out[c.Service] = img
	}
	return out
}

func findService(cs []compose.Container, service string) compose.Container {
	for _, c := range cs {
		if c.Service == service {
			return c
		}
	}
	return compose.Container{}
}

func containerNames(cs []compose.Container) string {
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// waitHealthy probes the new color's health URL while watching its
// container, each container of the traffic service in turn when it runs
// replicas: an exit or restart ends the wait at once with the exit code
// and the last log lines.
func (r *run) waitHealthy(ctx context.Context, p *plan, traffic compose.Container) error {
	servers, err := r.servers(ctx, p, traffic)
	if err != nil {
		return err
	}
	for _, s := range servers {
		if len(servers) > 1 {
			r.d.Report.Infof("    %s on %s", s.Container.Name, s.URL)
		}
		if err := r.waitServerHealthy(ctx, p, s); err != nil {
			return err
		}
	}
	return nil
}

// waitServerHealthy is waitHealthy for one container of the service. A
// container whose image or compose file defines a Docker healthcheck must
// also be healthy by Docker's account.
func (r *run) waitServerHealthy(ctx context.Context, p *plan, s server) error {
	traffic := s.Container
	h := r.cfg.Health
	checker := r.checker(p)
	checker.URL = s.URL + h.Path
	watch := func(ctx context.Context) error { return r.watchContainer(ctx, traffic) }
	res, err := checker.Wait(ctx, watch, r.probeLogger(h.Interval))
	r.res.HealthAttempts += len(res.Attempts)
	if err != nil {
		if errors.Is(err, health.ErrUnhealthy) {
			return withHint(err, "check that the app listens on port %d inside the container and answers %s with %s (health-path, health-status), and its log lines above", p.ContainerPort, h.Path, h.Accept)
		}
		return err
	}
	if p.DockerHealthcheck || traffic.Health != "" {
		return r.waitDockerHealthy(ctx, traffic)
	}
	return nil
}

// ExitedError is a new color's container that stopped running while the
// deploy waited on it. Its logs are shown beside the error, not in it.
type ExitedError struct {
	Name string
	// What it did: "exited with code 3", "is restarting (...)".
	What string
}

func (e *ExitedError) Error() string { return fmt.Sprintf("container %s %s", e.Name, e.What) }

// watchContainer reports a container that is no longer running.
func (r *run) watchContainer(ctx context.Context, c compose.Container) error {
	cur, err := r.d.Engine.Inspect(ctx, c.ID)
	if err != nil {
		return err
	}
	if cur.Running && !cur.Restarting && cur.RestartCount == 0 {
		return nil
	}
	what := fmt.Sprintf("exited with code %d", cur.ExitCode)
	if cur.Restarting || cur.RestartCount > 0 {
		what = fmt.Sprintf("is restarting (restart count %d, last exit code %d)", cur.RestartCount, cur.ExitCode)
	}
	return &ExitedError{Name: c.Name, What: what}
}

// waitDockerHealthy waits for Docker's own healthcheck to say healthy,
// bounded by the same budget as the HTTP check.
func (r *run) waitDockerHealthy(ctx context.Context, c compose.Container) error {
	budget := time.Duration(r.cfg.Health.Retries) * r.cfg.Health.Interval
	deadline := time.Now().Add(budget)
	for {
		cur, err := r.d.Engine.Inspect(ctx, c.ID)
		if err != nil {
			return err
		}
		switch {
		case cur.Health == "healthy" || cur.Health == "":
			return nil
		case !cur.Running:
			return r.watchContainer(ctx, c)
		case time.Now().After(deadline):
			last := ""
			if cur.HealthLog != "" {
				last = fmt.Sprintf("; its last healthcheck run said %q", cur.HealthLog)
			}
			return fmt.Errorf("the HTTP check passed, but Docker's healthcheck of %s still says %q after %s%s", c.Name, cur.Health, budget, last)
		}
		if err := sleep(ctx, r.d.pollEvery()); err != nil {
			return err
		}
	}
}

// checker is the configured health check of a color. Every probe the
// deploy makes (start, stage, observe, the live-color check) is made
// through it, so the Host header, headers and scheme apply to all of them.
func (r *run) checker(p *plan) *health.Checker {
	h := r.cfg.Health
	return &health.Checker{
		URL:           p.URL + h.Path,
		Accept:        h.Accept,
		Retries:       h.Retries,
		Interval:      h.Interval,
		StartInterval: h.StartInterval,
		Timeout:       h.Timeout,
		StartupDelay:  h.StartupDelay,
		Scheme:        h.Scheme,
		Host:          h.Host,
		Header:        h.Headers,
		InsecureTLS:   h.InsecureTLS,
	}
}

// probeLogger logs health probes without flooding the log while they go
// out every health-start-interval (see health.Folded): a line when the
// answer changes, else one an interval.
func (r *run) probeLogger(every time.Duration) func(health.Attempt) {
	return health.Folded(every, r.d.Report.Infof)
}

// probeOnce sends one health probe to a color, at once.
func (r *run) probeOnce(ctx context.Context, p *plan) error {
	c := r.checker(p)
	c.Retries, c.StartupDelay, c.StartInterval = 1, 0, 0
	_, err := c.Wait(ctx, nil, nil)
	return err
}

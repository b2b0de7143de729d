// Package deploy runs a blue-green deploy as its phases: find the live
// color, start the idle one, prove it healthy, switch nginx with a checked
// and reversible write, drain the old color and stop it. The live color is
// never touched before the new one is proven healthy, and every failure
// leaves nginx pointing at the color it served before.
package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/health"
	"github.com/bluegreen-action/bluegreen/internal/lock"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// DefaultLockDir holds one lock file per project; /var/lock is shared by
// every process on the host, which is what a host-wide lock needs.
const DefaultLockDir = "/var/lock"

// logTail is how many of a failed container's last log lines are shown.
const logTail = 50

// Engine is the part of the compose engine a deploy uses.
type Engine interface {
	EnsureImages(ctx context.Context, p *types.Project, policy compose.PullPolicy, registryAuth string) error
	Up(ctx context.Context, p *types.Project) ([]compose.Container, error)
	List(ctx context.Context, project string) ([]compose.Container, error)
	Inspect(ctx context.Context, id string) (compose.Container, error)
	Logs(ctx context.Context, id string, tail int) (string, error)
	Start(ctx context.Context, project string) ([]compose.Container, error)
	Stop(ctx context.Context, project string, timeout *time.Duration) error
	Down(ctx context.Context, project string, timeout *time.Duration) error
}

var _ Engine = (*compose.Engine)(nil)

// Switch is nginx as the deploy sees it: the include and its checked,
// reversible replacement.
type Switch interface {
	Read() (data []byte, exists bool, err error)
	Switch(ctx context.Context, next []byte) (*nginx.Reload, error)
	Restore(ctx context.Context, prev []byte, existed bool) error
	// Pending reports an include written but never loaded by nginx.
	Pending() (pending, ok bool, why string)
	// RemoveStaleTemps removes temp files a killed deploy left behind.
	RemoveStaleTemps() ([]string, error)
	// ShutdownTimeoutSet reports whether nginx sets worker_shutdown_timeout.
	ShutdownTimeoutSet(ctx context.Context) (bool, error)
	// FindFrontDoor finds where nginx answers for the server that
	// includes the include.
	FindFrontDoor(ctx context.Context, includePath string) (nginx.FrontDoor, bool, error)
}

var _ Switch = (*nginx.Switcher)(nil)

// DrainFunc waits until nothing is served by the old color any more.
type DrainFunc func(ctx context.Context, r *nginx.Reload, oldUpstream string, timeout time.Duration) (nginx.DrainResult, error)

// Deployer holds what a deploy talks to. Everything from the outside world
// is passed in, so tests can run the phases against fakes or real things.
type Deployer struct {
	Config *config.Config
	Engine Engine
	Nginx  Switch
	Drain  DrainFunc
	Report *report.Reporter
	// Env is the environment compose files are interpolated with (the
	// process environment; BLUEGREEN_COLOR and BLUEGREEN_PORT are added).
	Env map[string]string
	// RegistryAuth is the X-Registry-Auth value for pulls ("" for none).
	RegistryAuth string
	// LockDir holds the per-project lock file (default DefaultLockDir).
	LockDir string
	// NginxNetworks are the user networks of the nginx container (none when
	// nginx runs on the host or with network_mode host): {{.ContainerIP}}
	// is the new color's address on one of them, the only one nginx reaches.
	NginxNetworks []string
}

// Sentinel errors a caller can test for with errors.Is.
var (
	ErrPreflight  = errors.New("preflight check failed")
	ErrStart      = errors.New("failed to start the new color")
	ErrUnhealthy  = errors.New("new color did not become healthy")
	ErrSwitch     = errors.New("failed to switch nginx")
	ErrNoRollback = errors.New("nothing to roll back to")
)

// PhaseError is a failed deploy: which phase failed, why, and what was
// done to leave the host as it was.
type PhaseError struct {
	Phase  string
	Err    error
	Undone string // what was undone, in words; empty if nothing was needed
}

func (e *PhaseError) Error() string {
	msg := fmt.Sprintf("%s failed: %v", e.Phase, e.Err)
	if e.Undone != "" {
		msg += "\n" + e.Undone
	}
	return msg
}

func (e *PhaseError) Unwrap() error { return e.Err }

// run is the state of one deploy.
type run struct {
	d      *Deployer
	cfg    *config.Config
	res    *Result
	plans  map[color.Color]*plan
	tmpl   *nginx.Template
	live   Live
	target color.Color
}

// Run performs one deploy in the configured mode and returns its Result,
// which is filled in as far as the deploy got even when it fails.
func (d *Deployer) Run(ctx context.Context) (*Result, error) {
	r := &run{d: d, cfg: d.Config, res: &Result{Started: time.Now(), DeployID: newDeployID(), Mode: d.Config.Mode}}
	err := r.do(ctx)
	r.res.Elapsed = time.Since(r.res.Started)
	if err != nil {
		r.res.Err = err
	}
	return r.res, err
}

func (r *run) do(ctx context.Context) error {
	if err := r.phase("Preflight", r.preflight); err != nil {
		return &PhaseError{Phase: "Preflight", Err: fmt.Errorf("%w: %w", ErrPreflight, err)}
	}

	var lk *lock.Lock
	if err := r.phase("Lock", func() (err error) { lk, err = r.acquireLock(ctx); return err }); err != nil {
		return &PhaseError{Phase: "Lock", Err: err}
	}
	defer func() {
		if err := lk.Release(); err != nil {
			r.d.Report.Warnf("%v", err)
		}
	}()

	if err := r.phase("Find the live color", func() error { return r.findLive(ctx) }); err != nil {
		return &PhaseError{Phase: "Find the live color", Err: err}
	}
	r.res.Previous = r.live.Color
	switch r.cfg.Mode {
	case config.ModeStatus:
		r.res.Active = r.live.Color
		r.fillActive(r.live.Color)
		return nil
	case config.ModeRollback:
		return r.rollback(ctx)
	default:
		return r.deploy(ctx)
	}
}

// deploy starts the idle color from the compose files, proves it, switches
// to it, watches it, drains the old color and stops it.
func (r *run) deploy(ctx context.Context) error {
	r.target = r.live.Color.Other()
	r.res.Target = r.target
	plan := r.plans[r.target]
	r.res.Image = plan.Image

	start := fmt.Sprintf("Start %s (%s)", r.target, r.cfg.ProjectFor(r.target))
	var traffic compose.Container
	if err := r.phase(start, func() (err error) { traffic, err = r.start(ctx, plan); return err }); err != nil {
		return r.abandon(ctx, start, err, traffic, false)
	}
	return r.promote(ctx, plan, traffic, false)
}

// rollback brings the previous color back: its containers were kept,
// stopped, by keep-previous, so it returns with exactly the image and
// settings it served with.
func (r *run) rollback(ctx context.Context) error {
	if r.live.Color == color.None {
		return &PhaseError{Phase: "Rollback", Err: fmt.Errorf("%w: nothing is live, so there is no previous color to go back to", ErrNoRollback)}
	}
	r.target = r.live.Color.Other()
	r.res.Target = r.target
	plan := r.plans[r.target]
	project := r.cfg.ProjectFor(r.target)
	start := fmt.Sprintf("Start %s again (%s)", r.target, project)
	var traffic compose.Container
	err := r.phase(start, func() error {
		cs, err := r.d.Engine.Start(ctx, project)
		if errors.Is(err, compose.ErrNothingToStart) {
			return fmt.Errorf("%w: %s has no containers; deploy with keep-previous: true so that the previous color is stopped but kept", ErrNoRollback, project)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrStart, err)
		}
		traffic = findService(cs, plan.Service)
		if traffic.ID == "" {
			return fmt.Errorf("%w: %s has no container of service %s", ErrNoRollback, project, plan.Service)
		}
		r.res.Image = traffic.Image
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNoRollback) {
			return &PhaseError{Phase: start, Err: err}
		}
		return r.abandon(ctx, start, err, traffic, true)
	}
	r.res.RolledBack = true
	return r.promote(ctx, plan, traffic, true)
}

// promote takes a started color the rest of the way: health, switch,
// observation, drain, stop of the old color. keep says the new color's
// containers must survive a failure (a rollback target).
func (r *run) promote(ctx context.Context, plan *plan, traffic compose.Container, keep bool) error {
	check := fmt.Sprintf("Health check %s", plan.URL+r.cfg.Health.Path)
	if err := r.phase(check, func() error { return r.waitHealthy(ctx, plan, traffic) }); err != nil {
		return r.abandon(ctx, check, err, traffic, keep)
	}

	sw := fmt.Sprintf("Switch nginx to %s", r.target)
	var reload *nginx.Reload
	if err := r.phase(sw, func() (err error) { reload, err = r.switchNginx(ctx, plan, traffic); return err }); err != nil {
		return r.abandon(ctx, sw, fmt.Errorf("%w: %w", ErrSwitch, err), compose.Container{}, keep)
	}
	r.res.Active = r.target
	r.fillActive(r.target)

	if r.cfg.Observe > 0 {
		obs := fmt.Sprintf("Observe %s for %s", r.target, r.cfg.Observe)
		if err := r.phase(obs, func() error { return r.observe(ctx, plan, traffic) }); err != nil {
			return r.switchBack(ctx, obs, err, traffic, keep)
		}
	}

	// Drain even on a first deploy: until nginx's old workers have exited
	// they still accept connections and proxy them by the old include.
	old := r.live.Color
	drainName := "Drain nginx's old workers"
	if old != color.None {
		drainName = fmt.Sprintf("Drain %s", old)
	}
	_ = r.phase(drainName, func() error { return r.drain(ctx, reload, old) })
	if old != color.None {
		stop := fmt.Sprintf("Stop %s (%s)", old, r.cfg.ProjectFor(old))
		keepOld := r.cfg.KeepPrevious || r.cfg.Mode == config.ModeRollback
		if err := r.phase(stop, func() error { return r.stopOld(ctx, old, keepOld) }); err != nil {
			// The switch is done and nginx serves the new color; a color that
			// failed to stop is a leftover the next deploy removes.
			r.d.Report.Warnf("the deploy succeeded, but stopping %s failed: %v; the next deploy removes it", old, err)
		}
	}
	return nil
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
		checker := &health.Checker{URL: p.URL + h.Path, Accept: h.Accept, Retries: 1, Interval: h.Interval, Timeout: h.Timeout}
		if _, err := checker.Wait(ctx, nil, nil); err != nil {
			// A container that just died explains the failed probe better
			// than the probe does; give Docker a moment to notice the exit.
			time.Sleep(300 * time.Millisecond)
			if werr := r.watchContainer(ctx, traffic); werr != nil {
				return fmt.Errorf("during observe-seconds: %w", werr)
			}
			return fmt.Errorf("%w: during observe-seconds: %w", ErrUnhealthy, err)
		}
		probes++
		if time.Now().After(deadline) {
			r.d.Report.Infof("    %s stayed healthy for %s (%d probes)", r.target, r.cfg.Observe, probes)
			return nil
		}
		wait := min(h.Interval, time.Until(deadline))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// switchBack undoes a switch whose new color failed inside the observation
// window: nginx gets the previous include back, the new color is drained
// and removed. The old color was never stopped, so it serves at once.
func (r *run) switchBack(ctx context.Context, phase string, cause error, traffic compose.Container, keep bool) error {
	ctx = context.WithoutCancel(ctx)
	if r.live.Color == color.None {
		r.d.Report.Warnf("%s failed inside the observation window, but there is no previous color to switch back to; it keeps serving", r.target)
		return &PhaseError{Phase: phase, Err: cause}
	}
	if traffic.ID != "" {
		if logs, err := r.d.Engine.Logs(ctx, traffic.ID, logTail*2); err == nil && strings.TrimSpace(logs) != "" {
			r.d.Report.Block(fmt.Sprintf("Last log lines of %s (%s)", traffic.Name, r.target), logs)
		}
	}
	var undone []string
	back := fmt.Sprintf("Switch nginx back to %s", r.live.Color)
	var reload *nginx.Reload
	err := r.phase(back, func() (err error) { reload, err = r.d.Nginx.Switch(ctx, r.live.Include); return err })
	if err != nil {
		undone = append(undone, fmt.Sprintf("switching nginx back to %s FAILED: %v; nginx still points at %s", r.live.Color, err, r.target))
		r.res.Undone = strings.Join(undone, " ")
		return &PhaseError{Phase: phase, Err: cause, Undone: r.res.Undone}
	}
	r.res.RolledBack = true
	r.res.Active = r.live.Color
	r.fillActive(r.live.Color)
	undone = append(undone, fmt.Sprintf("Switched nginx back to %s (%s).", r.live.Color, r.plans[r.live.Color].URL))
	_ = r.phase(fmt.Sprintf("Drain %s", r.target), func() error { return r.drainColor(ctx, reload, r.target) })
	if err := r.removeTarget(ctx, keep); err != nil {
		undone = append(undone, err.Error())
	} else {
		undone = append(undone, fmt.Sprintf("Removed %s.", r.cfg.ProjectFor(r.target)))
	}
	r.res.Undone = strings.Join(undone, " ")
	return &PhaseError{Phase: phase, Err: cause, Undone: r.res.Undone}
}

// removeTarget takes the new color away after a failure: removed, or only
// stopped when it is a rollback target that must stay runnable.
func (r *run) removeTarget(ctx context.Context, keep bool) error {
	project := r.cfg.ProjectFor(r.target)
	zero := time.Duration(0)
	if keep {
		if err := r.d.Engine.Stop(ctx, project, &zero); err != nil {
			return fmt.Errorf("stopping %s ALSO failed: %v; stop it with: docker compose -p %s stop", project, err, project)
		}
		return nil
	}
	if err := r.d.Engine.Down(ctx, project, &zero); err != nil {
		return fmt.Errorf("removing %s ALSO failed: %v; remove it with: docker compose -p %s down", project, err, project)
	}
	return nil
}

// phase runs fn as a named phase: a log group, a timing, a record.
func (r *run) phase(name string, fn func() error) error {
	end := r.d.Report.Phase(name)
	start := time.Now()
	err := fn()
	end()
	p := Phase{Name: name, Start: start, Duration: time.Since(start), Err: err}
	r.res.Phases = append(r.res.Phases, p)
	if err == nil {
		r.d.Report.Infof("    %s done in %s", name, p.Duration.Round(time.Millisecond))
	}
	return err
}

// abandon undoes a deploy that failed before or during the switch: the
// new color is shown (logs) and removed (only stopped when keep); nginx
// was never changed, or the switch itself restored it.
func (r *run) abandon(ctx context.Context, phase string, cause error, traffic compose.Container, keep bool) error {
	ctx = context.WithoutCancel(ctx)
	if traffic.ID != "" {
		if logs, err := r.d.Engine.Logs(ctx, traffic.ID, logTail*2); err == nil && strings.TrimSpace(logs) != "" {
			r.d.Report.Block(fmt.Sprintf("Last log lines of %s (%s)", traffic.Name, r.target), logs)
		}
	}
	var undone []string
	if err := r.removeTarget(ctx, keep); err != nil {
		undone = append(undone, err.Error())
	} else if keep {
		undone = append(undone, fmt.Sprintf("Stopped %s again.", r.cfg.ProjectFor(r.target)))
	} else {
		undone = append(undone, fmt.Sprintf("Removed the new color %s.", r.cfg.ProjectFor(r.target)))
	}
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
	return &PhaseError{Phase: phase, Err: cause, Undone: r.res.Undone}
}

func (r *run) acquireLock(ctx context.Context) (*lock.Lock, error) {
	dir := r.d.LockDir
	if dir == "" {
		dir = DefaultLockDir
	}
	path := filepath.Join(dir, "bluegreen-"+r.cfg.ProjectName+".lock")
	me := lock.Holder{RunID: r.cfg.Run.RunID, SHA: r.cfg.Run.SHA, Workflow: r.cfg.Run.Workflow}
	return lock.Acquire(ctx, path, me, r.cfg.LockTimeout, func(h lock.Holder) {
		r.d.Report.Infof("another deploy of %s is running (%s); waiting up to %s (lock-timeout)", r.cfg.ProjectName, h, r.cfg.LockTimeout)
	})
}

// start removes leftovers of the idle color, makes sure the images are
// there, and brings the color's project up. It returns the traffic
// service's container.
func (r *run) start(ctx context.Context, p *plan) (compose.Container, error) {
	project := r.cfg.ProjectFor(p.Color)
	if left, err := r.d.Engine.List(ctx, project); err != nil {
		return compose.Container{}, fmt.Errorf("%w: failed to list %s: %w", ErrStart, project, err)
	} else if len(left) > 0 {
		r.d.Report.Infof("removing %d leftover container(s) of %s: %s", len(left), project, containerNames(left))
		zero := time.Duration(0)
		if err := r.d.Engine.Down(ctx, project, &zero); err != nil {
			return compose.Container{}, fmt.Errorf("%w: failed to remove leftovers of %s: %w", ErrStart, project, err)
		}
	}
	if err := r.d.Engine.EnsureImages(ctx, p.Project, compose.PullPolicy(r.cfg.Pull), r.d.RegistryAuth); err != nil {
		return compose.Container{}, fmt.Errorf("%w: %w", ErrStart, err)
	}
	r.d.Report.Infof("starting %s: service %s, image %s, published on %s", project, p.Service, p.Image, p.URL)
	containers, err := r.d.Engine.Up(ctx, p.Project)
	traffic := findService(containers, p.Service)
	if err != nil {
		return traffic, fmt.Errorf("%w: %w", ErrStart, err)
	}
	if traffic.ID == "" {
		return traffic, fmt.Errorf("%w: no container of service %s was created in %s", ErrStart, p.Service, project)
	}
	return traffic, nil
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
// container: an exit or restart ends the wait at once with the exit code
// and the last log lines.
func (r *run) waitHealthy(ctx context.Context, p *plan, traffic compose.Container) error {
	h := r.cfg.Health
	checker := &health.Checker{
		URL:          p.URL + h.Path,
		Accept:       h.Accept,
		Retries:      h.Retries,
		Interval:     h.Interval,
		Timeout:      h.Timeout,
		StartupDelay: h.StartupDelay,
	}
	watch := func(ctx context.Context) error { return r.watchContainer(ctx, traffic) }
	res, err := checker.Wait(ctx, watch, func(a health.Attempt) {
		r.d.Report.Infof("    probe %s", a)
	})
	r.res.HealthAttempts = len(res.Attempts)
	if err != nil {
		if errors.Is(err, health.ErrUnhealthy) {
			return fmt.Errorf("%w: %w; check that the app listens on port %d inside the container and answers %s with %s (health-path, health-status), and the logs below", ErrUnhealthy, err, p.ContainerPort, h.Path, h.Accept)
		}
		return err
	}
	if p.DockerHealthcheck {
		return r.waitDockerHealthy(ctx, traffic)
	}
	return nil
}

// watchContainer reports a container that is no longer running.
func (r *run) watchContainer(ctx context.Context, c compose.Container) error {
	cur, err := r.d.Engine.Inspect(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("%w: failed to inspect %s: %w", ErrUnhealthy, c.Name, err)
	}
	if cur.Running && !cur.Restarting && cur.RestartCount == 0 {
		return nil
	}
	what := fmt.Sprintf("exited with code %d", cur.ExitCode)
	if cur.Restarting || cur.RestartCount > 0 {
		what = fmt.Sprintf("is restarting (restart count %d, last exit code %d)", cur.RestartCount, cur.ExitCode)
	}
	msg := fmt.Sprintf("%v: container %s %s while waiting for it to become healthy", ErrUnhealthy, c.Name, what)
	if logs, err := r.d.Engine.Logs(context.WithoutCancel(ctx), c.ID, 20); err == nil && strings.TrimSpace(logs) != "" {
		msg += "; its last log lines:\n" + indent(logs)
	}
	return errors.New(msg)
}

// waitDockerHealthy waits for Docker's own healthcheck to say healthy,
// bounded by the same budget as the HTTP check.
func (r *run) waitDockerHealthy(ctx context.Context, c compose.Container) error {
	budget := time.Duration(r.cfg.Health.Retries) * r.cfg.Health.Interval
	deadline := time.Now().Add(budget)
	for {
		cur, err := r.d.Engine.Inspect(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("%w: failed to inspect %s: %w", ErrUnhealthy, c.Name, err)
		}
		switch {
		case cur.Health == "healthy" || cur.Health == "":
			return nil
		case !cur.Running:
			return r.watchContainer(ctx, c)
		case time.Now().After(deadline):
			last := ""
			if cur.HealthLog != "" {
				last = "; its last healthcheck run: " + cur.HealthLog
			}
			return fmt.Errorf("%w: the HTTP check passed, but Docker's healthcheck of %s still says %q after %s%s", ErrUnhealthy, c.Name, cur.Health, budget, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// switchNginx renders the include for the new color and hands it to the
// checked switch, which restores the old include on any failure.
func (r *run) switchNginx(ctx context.Context, p *plan, traffic compose.Container) (*nginx.Reload, error) {
	data := r.templateData(p, traffic)
	if _, shared := nginx.UpstreamIP(traffic.IPs, r.d.NginxNetworks); len(r.d.NginxNetworks) > 0 && !shared {
		r.d.Report.Warnf("%s shares no network with the nginx container (on %s), so nginx cannot reach its {{.ContainerName}} or {{.ContainerIP}}; "+
			"attach service %s to %s (networks: with external: true)", traffic.Name, strings.Join(r.d.NginxNetworks, ", "), p.Service, r.d.NginxNetworks[0])
	}
	next, err := r.tmpl.Render(data)
	if err != nil {
		return nil, fmt.Errorf("failed to render nginx-include-template: %w", err)
	}
	r.d.Report.Infof("writing %s:\n%s", r.cfg.Nginx.IncludePath, indent(string(next)))
	reload, err := r.d.Nginx.Switch(ctx, next)
	if err != nil {
		return nil, err
	}
	if err := r.confirmFrontDoor(ctx, next); err != nil {
		if uerr := r.unswitch(ctx); uerr != nil {
			return nil, fmt.Errorf("%w; putting the previous include back ALSO failed: %w", err, uerr)
		}
		return nil, fmt.Errorf("%w; the previous include was put back", err)
	}
	return reload, nil
}

// unswitch puts the include nginx served before this deploy back.
func (r *run) unswitch(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	if r.live.IncludeExists {
		_, err := r.d.Nginx.Switch(ctx, r.live.Include)
		return err
	}
	return r.d.Nginx.Restore(ctx, nil, false)
}

func (r *run) templateData(p *plan, traffic compose.Container) nginx.TemplateData {
	d := nginx.TemplateData{
		Color:         p.Color.String(),
		Host:          r.cfg.UpstreamHost,
		Port:          p.HostPort,
		URL:           p.URL,
		DeployID:      r.res.DeployID,
		Project:       r.cfg.ProjectFor(p.Color),
		Service:       p.Service,
		ContainerName: p.ContainerName,
		ContainerPort: p.ContainerPort,
	}
	if traffic.Name != "" {
		d.ContainerName = traffic.Name
	}
	d.ContainerIP, _ = nginx.UpstreamIP(traffic.IPs, r.d.NginxNetworks)
	return d
}

// drain waits until nginx no longer serves anything from the old color.
func (r *run) drain(ctx context.Context, reload *nginx.Reload, old color.Color) error {
	return r.drainColor(ctx, reload, old)
}

// drainColor waits until nginx's workers from before reload have exited
// and no connection to c's upstream remains, capped by drain-timeout.
func (r *run) drainColor(ctx context.Context, reload *nginx.Reload, c color.Color) error {
	upstream := ""
	if c != color.None {
		upstream = r.cfg.UpstreamHost + ":" + strconv.Itoa(r.plans[c].HostPort)
		// nginx in a container on a user network connects to the color's
		// container address, not to the host port.
		if ip, shared := nginx.UpstreamIP(findService(r.live.Running[c], r.plans[c].Service).IPs, r.d.NginxNetworks); shared {
			upstream = net.JoinHostPort(ip, strconv.Itoa(r.plans[c].ContainerPort))
		}
	}
	res, err := r.d.Drain(ctx, reload, upstream, r.cfg.DrainTimeout)
	r.res.Drain = res
	switch {
	case err != nil:
		r.d.Report.Warnf("drain of %s stopped early: %v", orNoneColor(c), err)
	case res.TimedOut:
		r.d.Report.Warnf("drain-timeout %s reached while still open: %s; going on anyway", r.cfg.DrainTimeout, strings.Join(res.StillOpen, ", "))
	case c == color.None:
		r.d.Report.Infof("    nginx's old workers exited after %s", res.Waited.Round(time.Millisecond))
	default:
		r.d.Report.Infof("    nothing served by %s any more after %s", c, res.Waited.Round(time.Millisecond))
	}
	return nil
}

func orNoneColor(c color.Color) string {
	if c == color.None {
		return "nginx's old workers"
	}
	return c.String()
}

func (r *run) stopOld(ctx context.Context, old color.Color, keep bool) error {
	ctx = context.WithoutCancel(ctx)
	var timeout *time.Duration
	if r.cfg.StopTimeout > 0 {
		timeout = &r.cfg.StopTimeout
	}
	project := r.cfg.ProjectFor(old)
	if keep {
		r.d.Report.Infof("stopping %s, keeping its containers for mode: rollback", project)
		return r.d.Engine.Stop(ctx, project, timeout)
	}
	return r.d.Engine.Down(ctx, project, timeout)
}

func (r *run) fillActive(c color.Color) {
	if c == color.None {
		return
	}
	p := r.plans[c]
	r.res.ActivePort = p.HostPort
	r.res.ActiveURL = p.URL
	if r.res.Image == "" || c != r.target {
		r.res.Image = p.Image
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

func newDeployID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

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
}

// Sentinel errors a caller can test for with errors.Is.
var (
	ErrPreflight = errors.New("preflight check failed")
	ErrStart     = errors.New("failed to start the new color")
	ErrUnhealthy = errors.New("new color did not become healthy")
	ErrSwitch    = errors.New("failed to switch nginx")
)

// PhaseError is a failed deploy: which phase failed, why, and what was
// done to leave the host as it was.
type PhaseError struct {
	Phase      string
	Err        error
	RolledBack string // what was undone, in words; empty if nothing was needed
}

func (e *PhaseError) Error() string {
	msg := fmt.Sprintf("%s failed: %v", e.Phase, e.Err)
	if e.RolledBack != "" {
		msg += "\n" + e.RolledBack
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

	lk, err := r.acquireLock(ctx)
	if err != nil {
		return &PhaseError{Phase: "Lock", Err: err}
	}
	defer lk.Release()

	if err := r.phase("Find the live color", func() error { return r.findLive(ctx) }); err != nil {
		return &PhaseError{Phase: "Find the live color", Err: err}
	}
	r.res.Previous = r.live.Color
	if r.cfg.Mode == config.ModeStatus {
		r.res.Active = r.live.Color
		r.fillActive(r.live.Color)
		return nil
	}
	r.target = r.live.Color.Other()
	r.res.Target = r.target
	plan := r.plans[r.target]
	r.res.Image = plan.Image

	start := fmt.Sprintf("Start %s (%s)", r.target, r.cfg.ProjectFor(r.target))
	var traffic compose.Container
	if err := r.phase(start, func() (err error) { traffic, err = r.start(ctx, plan); return err }); err != nil {
		return r.abandon(ctx, start, err, traffic)
	}

	check := fmt.Sprintf("Health check %s", plan.URL+r.cfg.Health.Path)
	if err := r.phase(check, func() error { return r.waitHealthy(ctx, plan, traffic) }); err != nil {
		return r.abandon(ctx, check, err, traffic)
	}

	sw := fmt.Sprintf("Switch nginx to %s", r.target)
	var reload *nginx.Reload
	if err := r.phase(sw, func() (err error) { reload, err = r.switchNginx(ctx, plan, traffic); return err }); err != nil {
		return r.abandon(ctx, sw, fmt.Errorf("%w: %w", ErrSwitch, err), compose.Container{})
	}
	r.res.Active = r.target
	r.fillActive(r.target)

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
		if err := r.phase(stop, func() error { return r.stopOld(ctx, old) }); err != nil {
			// The switch is done and nginx serves the new color; a color that
			// failed to stop is a leftover the next deploy removes.
			r.d.Report.Warnf("the deploy succeeded, but stopping %s failed: %v; the next deploy removes it", old, err)
		}
	}
	return nil
}

// phase runs fn as a named phase: a log group, a timing, a record.
func (r *run) phase(name string, fn func() error) error {
	end := r.d.Report.Phase(name)
	start := time.Now()
	err := fn()
	end()
	p := Phase{Name: name, Duration: time.Since(start), Err: err}
	r.res.Phases = append(r.res.Phases, p)
	if err == nil {
		r.d.Report.Infof("    %s done in %s", name, p.Duration.Round(time.Millisecond))
	}
	return err
}

// abandon undoes a deploy that failed before or during the switch: the
// new color is shown (logs) and removed; nginx was never changed, or the
// switch itself restored it.
func (r *run) abandon(ctx context.Context, phase string, cause error, traffic compose.Container) error {
	ctx = context.WithoutCancel(ctx)
	project := r.cfg.ProjectFor(r.target)
	if traffic.ID != "" {
		if logs, err := r.d.Engine.Logs(ctx, traffic.ID, logTail*2); err == nil && strings.TrimSpace(logs) != "" {
			r.d.Report.Block(fmt.Sprintf("Last log lines of %s (%s)", traffic.Name, r.target), logs)
		}
	}
	var undone []string
	timeout := time.Duration(0)
	if err := r.d.Engine.Down(ctx, project, &timeout); err != nil {
		undone = append(undone, fmt.Sprintf("removing %s ALSO failed: %v; remove it with: docker compose -p %s down", project, err, project))
	} else {
		undone = append(undone, fmt.Sprintf("Removed the new color %s.", project))
	}
	if r.live.Color != color.None {
		undone = append(undone, fmt.Sprintf("nginx still serves %s (%s); nothing else was changed.", r.live.Color, r.plans[r.live.Color].URL))
	} else {
		undone = append(undone, "nginx's include was left as it was.")
	}
	r.res.RolledBack = strings.Join(undone, " ")
	r.res.Active = r.live.Color
	if r.live.Color != color.None {
		r.fillActive(r.live.Color)
	}
	return &PhaseError{Phase: phase, Err: cause, RolledBack: r.res.RolledBack}
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
			return fmt.Errorf("%w: the HTTP check passed, but Docker's healthcheck of %s still says %q after %s", ErrUnhealthy, c.Name, cur.Health, budget)
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
	next, err := r.tmpl.Render(data)
	if err != nil {
		return nil, fmt.Errorf("failed to render nginx-include-template: %w", err)
	}
	r.d.Report.Infof("writing %s:\n%s", r.cfg.Nginx.IncludePath, indent(string(next)))
	return r.d.Nginx.Switch(ctx, next)
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
	for _, ip := range traffic.IPs {
		if ip != "" {
			d.ContainerIP = ip
			break
		}
	}
	return d
}

// drain waits until nginx no longer serves anything from the old color.
func (r *run) drain(ctx context.Context, reload *nginx.Reload, old color.Color) error {
	upstream := ""
	if old != color.None {
		upstream = r.cfg.UpstreamHost + ":" + strconv.Itoa(r.plans[old].HostPort)
	}
	res, err := r.d.Drain(ctx, reload, upstream, r.cfg.DrainTimeout)
	r.res.Drain = res
	switch {
	case err != nil:
		r.d.Report.Warnf("drain of %s stopped early: %v", old, err)
	case res.TimedOut:
		r.d.Report.Warnf("drain-timeout %s reached while still open: %s; stopping %s anyway", r.cfg.DrainTimeout, strings.Join(res.StillOpen, ", "), old)
	case old == color.None:
		r.d.Report.Infof("    nginx's old workers exited after %s", res.Waited.Round(time.Millisecond))
	default:
		r.d.Report.Infof("    nothing served by %s any more after %s", old, res.Waited.Round(time.Millisecond))
	}
	return nil
}

func (r *run) stopOld(ctx context.Context, old color.Color) error {
	ctx = context.WithoutCancel(ctx)
	var timeout *time.Duration
	if r.cfg.StopTimeout > 0 {
		timeout = &r.cfg.StopTimeout
	}
	project := r.cfg.ProjectFor(old)
	if r.cfg.KeepPrevious {
		r.d.Report.Infof("stopping %s, keeping its containers for mode: rollback (keep-previous)", project)
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

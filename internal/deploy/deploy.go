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
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/lock"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/pull"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// DefaultLockDir holds one lock file per project; /var/lock is shared by
// every process on the host, which is what a host-wide lock needs.
const DefaultLockDir = "/var/lock"

// logTail is how many of a failed container's last log lines are shown.
const logTail = 50

// Engine is the part of the compose engine a deploy uses.
type Engine interface {
	EnsureImages(ctx context.Context, p *types.Project, policy pull.Policy, registryAuth string) error
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

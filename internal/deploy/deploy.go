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
	"fmt"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
	"github.com/bluegreen-action/bluegreen/internal/lock"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// DefaultLockDir holds one lock file per project (see lock.DefaultDir).
const DefaultLockDir = lock.DefaultDir

// logTail is how many of a failed container's last log lines are shown.
const logTail = 50

// Target is the host a deploy runs on, as the deploy talks to it: its
// containers, its nginx, the evidence that nginx stopped using the old
// color, and its lock. A fleet runs the same deploy once per Target. The
// upstream host and the colors' ports are not here: they are inputs that
// mean the same on every host.
type Target struct {
	Engine Engine
	Nginx  Switch
	Drain  DrainFunc
	Lock   Locker
	// Preview is the switch of nginx-preview-include-path, through which
	// mode stage serves the staged color; nil when there is none.
	Preview Switch
	// History is the project's deploy history on this host; nil keeps none.
	History *ledger.Ledger
	// NginxLock, when set, is the host-wide lock (taken as NginxLockName)
	// held around every test, write, reload and confirmation of nginx, so
	// that projects sharing the host's nginx never interleave them.
	NginxLock Locker
	// NginxNetworks are the user networks of the nginx container (none when
	// nginx runs on the host or with network_mode host): {{.ContainerIP}}
	// is the new color's address on one of them, the only one nginx reaches.
	NginxNetworks []string
	// MarkerAllow are the client addresses the default include's marker
	// location answers (nginx.MarkerSources: the front-door check's own);
	// empty means loopback only.
	MarkerAllow []string
	// Evidence is nginx's record of what each color answered, which a
	// canary is judged on; nil when it cannot be read (canary-steps fails).
	Evidence Evidence
	// WritePage puts the maintenance page where the maintenance include
	// serves it from and returns its path as nginx names it; nil serves
	// the plain default.
	WritePage func(page []byte) (string, error)
}

// Deployer holds what a deploy talks to. Everything from the outside world
// is passed in, so tests can run the phases against fakes or real things.
type Deployer struct {
	Config *config.Config
	Target
	Report Reporter
	// Env is the environment compose files are interpolated with (the
	// process environment; BLUEGREEN_COLOR and BLUEGREEN_PORT are added).
	Env map[string]string
	// Registry is the login for pulls from the registry input's registry;
	// pulls from any other registry go without it.
	Registry compose.Credentials
	// Jobs says how the compose file's jobs run: as on one host (the zero
	// value), or as a fleet's host runs them (see Jobs).
	Jobs Jobs
	// CleanupTimeout bounds each step that undoes a failed or cancelled
	// deploy (default DefaultCleanupTimeout), so that a Docker daemon that
	// stops answering cannot hang the deploy forever.
	CleanupTimeout time.Duration
	// FrontDoorTimeout bounds the confirmation of a switch through nginx's
	// front door (default DefaultFrontDoorTimeout).
	FrontDoorTimeout time.Duration
	// poll is how often Docker's state is polled while waiting on it (an
	// exit to show up, a healthcheck to pass); default defaultPoll.
	poll time.Duration
}

// defaultPoll is how often a deploy polls Docker while it waits on a
// container: an exit or a healthcheck shows there within this.
const defaultPoll = 200 * time.Millisecond

func (d *Deployer) pollEvery() time.Duration {
	if d.poll > 0 {
		return d.poll
	}
	return defaultPoll
}

// DefaultCleanupTimeout bounds one clean-up step: removing a failed color,
// putting an include back. Docker removes a container in well under a
// second; a minute means the daemon is not answering.
const DefaultCleanupTimeout = time.Minute

// run is the state of one deploy.
type run struct {
	d      *Deployer
	cfg    *config.Config
	res    *Result
	plans  map[color.Color]*plan
	tmpl   *nginx.Template
	live   Live
	target color.Color
	// created is set once Up ran for the target color: only then are
	// there new containers of this run to remove on a failure.
	created bool
	// settled is set once Jobs.Settled was called.
	settled bool
}

// Run performs one deploy in the configured mode and returns its Result,
// which is filled in as far as the deploy got even when it fails. A
// failure is a *PhaseError.
func (d *Deployer) Run(ctx context.Context) (*Result, error) {
	r := &run{d: d, cfg: d.Config, res: &Result{Started: time.Now(), DeployID: newDeployID(), Mode: d.Config.Mode}}
	err := r.do(ctx)
	r.res.Elapsed = time.Since(r.res.Started)
	if err != nil {
		r.res.Err = err
	}
	return r.res, err
}

func (r *run) do(ctx context.Context) (err error) {
	if r.cfg.Mode == config.ModeHistory {
		// The history is this host's; reading it needs no compose file,
		// no lock and no nginx.
		return r.history()
	}
	if err := r.phase(PhasePreflight, "Preflight", func() error { return r.preflight(ctx) }); err != nil {
		r.settleUnfound(ctx, err)
		return newPhaseError(PhasePreflight, "Preflight", err)
	}
	if !r.hasJobs() {
		r.jobsSettled() // no job can fail this deploy
	}

	var lk Unlocker
	if err := r.phase(PhaseLock, "Lock", func() (err error) { lk, err = r.acquireLock(ctx); return err }); err != nil {
		return newPhaseError(PhaseLock, "Lock", err)
	}
	defer func() {
		if err := lk.Release(); err != nil {
			r.d.Report.Warnf("%v", err)
		}
	}()
	// Recorded while the lock is held: one writer at a time.
	defer func() { r.record(err) }()

	const find = "Find the live color"
	if err := r.phase(PhaseFind, find, func() error { return r.findLive(ctx) }); err != nil {
		return newPhaseError(PhaseFind, find, err)
	}
	r.res.Previous = r.live.Color
	// Runs before the record: the history keeps the color that serves.
	defer func() { r.settle(ctx, err) }()
	if err := r.settleTraffic(ctx); err != nil {
		return err
	}
	switch r.cfg.Mode {
	case config.ModeStatus:
		r.res.Active = r.live.Color
		r.fillActive(r.live.Color)
		r.noteServing()
		r.sharedStatus(ctx)
		return nil
	case config.ModeMaintenance, config.ModeLive:
		return r.trafficMode(ctx)
	case config.ModeStage:
		return r.stage(ctx)
	case config.ModeAbort:
		return r.abort(ctx)
	case config.ModeRollback:
		err = r.rollback(ctx)
	case config.ModePromote:
		err = r.promoteStaged(ctx)
	default:
		err = r.deploy(ctx)
	}
	if err == nil {
		r.pruneImages(ctx)
	}
	return err
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
	if err := r.phase(PhaseStart, start, func() (err error) { traffic, err = r.start(ctx, plan); return err }); err != nil {
		return r.fail(ctx, newPhaseError(PhaseStart, start, err), traffic, originStarted)
	}
	return r.promote(ctx, plan, traffic, originStarted)
}

// promote takes a started color the rest of the way: health, switch,
// observation, drain, stop of the old color. from says where the new
// color came from, which decides what a failure does with it (see fail).
func (r *run) promote(ctx context.Context, plan *plan, traffic compose.Container, from origin) error {
	// The switch is made ready while the color is probed (see prepareSwitch).
	pr := r.prepareSwitch(ctx, plan, traffic)
	check := fmt.Sprintf("Health check %s", plan.URL+r.cfg.Health.Path)
	if err := r.phase(PhaseHealth, check, func() error { return r.waitHealthy(ctx, plan, traffic) }); err != nil {
		pr.stop()
		return r.fail(ctx, newPhaseError(PhaseHealth, check, err), traffic, from)
	}

	if r.canaryWanted() {
		// The steps change the include: the full switch is prepared anew
		// after them, and nothing prepares beside them.
		pr.stop()
		pr = nil
		if err := r.canaryPhase(ctx, plan, traffic, from); err != nil {
			return err
		}
	}

	sw := fmt.Sprintf("Switch nginx to %s", r.target)
	var reload *nginx.Reload
	if err := r.phase(PhaseSwitch, sw, func() (err error) {
		reload, err = r.switchNginx(ctx, plan, traffic, pr)
		return r.afterCanary(ctx, plan, traffic, err)
	}); err != nil {
		// The new color was proven healthy: its logs would not explain this.
		return r.fail(ctx, newPhaseError(PhaseSwitch, sw, err), compose.Container{}, from)
	}
	r.res.Active = r.target
	r.fillActive(r.target)

	if r.cfg.Observe > 0 {
		obs := fmt.Sprintf("Observe %s for %s", r.target, r.cfg.Observe)
		if err := r.phase(PhaseObserve, obs, func() error { return r.observe(ctx, plan, traffic) }); err != nil {
			return r.fail(ctx, newPhaseError(PhaseObserve, obs, err), traffic, from)
		}
	}
	if pe := r.singletonPhase(ctx, plan, from); pe != nil {
		return r.fail(ctx, pe, compose.Container{}, from)
	}

	// Drain even on a first deploy: until nginx's old workers have exited
	// they still accept connections and proxy them by the old include.
	old := r.live.Color
	drainName := "Drain nginx's old workers"
	if old != color.None {
		drainName = fmt.Sprintf("Drain %s", old)
	}
	_ = r.phase(PhaseDrain, drainName, func() error { return r.drain(ctx, reload, old) })
	if old != color.None {
		stop := fmt.Sprintf("Stop %s (%s)", old, r.cfg.ProjectFor(old))
		keepOld := r.cfg.KeepPrevious || r.cfg.Mode == config.ModeRollback
		if err := r.phase(PhaseStop, stop, func() error { return r.stopOld(ctx, old, keepOld) }); err != nil {
			// The switch is done and nginx serves the new color; a color that
			// failed to stop is a leftover the next deploy removes.
			return r.fail(ctx, newPhaseError(PhaseStop, stop, err), compose.Container{}, from)
		}
	}
	// Only now is the copy this run set aside in its color replaced.
	r.dropAside(ctx)
	return nil
}

// phase runs fn as a named phase: a log group, a timing, a record.
func (r *run) phase(kind PhaseKind, name string, fn func() error) error {
	end := r.d.Report.Phase(name)
	start := time.Now()
	err := fn()
	end()
	p := Phase{Kind: kind, Name: name, Start: start, Duration: time.Since(start), Err: err}
	r.res.Phases = append(r.res.Phases, p)
	if err == nil {
		r.d.Report.Infof("    %s done in %s", name, p.Duration.Round(time.Millisecond))
	}
	return err
}

// cleanupContext is the context of a step that undoes part of a deploy:
// it runs on when the deploy was cancelled, since leaving a half-made
// deploy behind is worse, but only for the clean-up bound (plus extra, the
// time the step itself needs, such as a stop grace period), so that a
// daemon that stopped answering cannot hang the deploy.
func (r *run) cleanupContext(ctx context.Context, extra time.Duration) (context.Context, context.CancelFunc) {
	bound := r.d.CleanupTimeout
	if bound <= 0 {
		bound = DefaultCleanupTimeout
	}
	return context.WithTimeout(context.WithoutCancel(ctx), bound+extra)
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

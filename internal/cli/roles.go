package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/fleet"
	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
)

// Role is the part one process plays. The same binary runs in the action
// container, in a helper container on the host, and on a host by hand;
// which of these it is follows from its environment alone (and, in a
// helper, from what the handover on its stdin asks for), so it is decided
// once, by roleOf, before anything is touched.
type Role string

// The roles.
const (
	// RoleDeploy deploys in this process: a binary run on a host (or in a
	// container with hoisting turned off), or a launcher that finds it is
	// not in a container of the daemon.
	RoleDeploy Role = "deploy"
	// RoleLauncher is the action container: it starts a helper on the
	// host, streams its output and passes on its exit code.
	RoleLauncher Role = "launcher"
	// RoleHostHelper is the helper the launcher started: chroot into the
	// host, then deploy.
	RoleHostHelper Role = "host helper"
	// RoleFleetHelper is a helper a fleet's runner started on one host:
	// chroot, deploy the shipped files, then print the result line the
	// runner reads.
	RoleFleetHelper Role = "fleet helper"
	// RoleFleetLock is a helper a fleet's runner started to hold one
	// host's fleet lock for the whole rollout.
	RoleFleetLock Role = "fleet lock"
	// RoleFleet is the fleet's coordinator: it rolls the deploy across
	// the hosts input's hosts from where it runs.
	RoleFleet Role = "fleet"
)

// roleFunc plays one role; its error has already been said to the runner.
type roleFunc func(ctx context.Context, p *process) error

// roles maps each role to the function that plays it.
var roles = map[Role]roleFunc{
	RoleDeploy:      deployRole,
	RoleLauncher:    launcherRole,
	RoleHostHelper:  hostHelperRole,
	RoleFleetHelper: fleetHelperRole,
	RoleFleetLock:   fleetLockRole,
	RoleFleet:       fleetRole,
}

// dispatch is what run needs besides Options, so that a test can see which
// role runs without running it.
type dispatch struct {
	roles    map[Role]roleFunc
	inDocker func() bool
}

// process is one run of this binary, as its roles see it.
type process struct {
	opts Options
	// env is the process's own environment (Options.Environ).
	env map[string]string
	// arrival, in a helper, is what the handover brought; nil elsewhere.
	arrival *hosthelper.Arrival
}

// run is Run with its dispatch handed in: a helper first receives its
// handover (whose failure it says), then exactly one role is played.
func run(ctx context.Context, opts Options, d dispatch) error {
	p := &process{opts: opts, env: config.EnvMap(opts.Environ)}
	if hosthelper.IsHelper(p.env) {
		a, err := hosthelper.Receive(ctx, p.env, opts.Stdin, opts.Stdout)
		if err != nil {
			return err
		}
		p.arrival = a
	}
	var h *hosthelper.Handover
	if p.arrival != nil {
		h = &p.arrival.Handover
	}
	role := roleOf(p.env, h, d.inDocker)
	play, ok := d.roles[role]
	if !ok {
		// A programming error, which TestEveryRoleIsPlayed rules out.
		return fmt.Errorf("no function plays the role %q", role)
	}
	return play(ctx, p)
}

// roleOf decides the role from the process's environment and, in a
// helper, its handover (nil elsewhere). A helper is whatever its handover
// asks for; a hosts input makes the fleet's coordinator, which stays where
// it is even in an action container, since the deploys run on the hosts;
// an action container leaves for the host; anything else deploys here.
// inDocker is asked only when the rest of the environment allows a launch.
func roleOf(env map[string]string, h *hosthelper.Handover, inDocker func() bool) Role {
	switch {
	case hosthelper.IsHelper(env) && h != nil && h.Lock != nil:
		return RoleFleetLock
	case hosthelper.IsHelper(env) && h != nil && h.ResultToken != "":
		return RoleFleetHelper
	case hosthelper.IsHelper(env):
		return RoleHostHelper
	case config.FleetRequested(func(k string) string { return env[k] }):
		return RoleFleet
	case hosthelper.MayLaunch(env, inDocker):
		return RoleLauncher
	}
	return RoleDeploy
}

// deployRole deploys here, with this process's environment.
func deployRole(ctx context.Context, p *process) error {
	d := newHere(p.opts, p.env, p.opts.Cwd)
	defer d.close()
	return d.run(ctx)
}

// launcherRole starts the helper on the host and passes on its exit code;
// a launcher that is not in a container of the daemon deploys here.
func launcherRole(ctx context.Context, p *process) error {
	code, err := hosthelper.Launch(ctx, p.env, p.opts.Cwd, p.opts.Stdout)
	switch {
	case errors.Is(err, hosthelper.ErrNotInContainer):
		return deployRole(ctx, p)
	case err != nil:
		return err
	case code != ExitOK:
		return &ExitError{Code: code}
	}
	return nil
}

// hostHelperRole enters the host and deploys there, with the environment
// the launcher handed over.
func hostHelperRole(ctx context.Context, p *process) error {
	a := p.arrival
	ctx, err := a.EnterHost(ctx)
	if err != nil {
		return err
	}
	cwd, err := a.EnterWorkspace(ctx)
	if err != nil {
		return err
	}
	d := newHere(p.opts, a.Handover.Env, cwd)
	defer d.close()
	return d.run(ctx)
}

// fleetHelperRole is hostHelperRole on one of a fleet's hosts: whatever
// happens, the deploy's result goes back to the runner as data, in a line
// that only the runner's token makes (see fleet.ResultLine).
func fleetHelperRole(ctx context.Context, p *process) error {
	a := p.arrival
	ctx, err := a.EnterHost(ctx)
	if err != nil {
		p.resultLine(fleet.FromDeploy(nil, err, nil))
		return err
	}
	cwd, err := a.EnterWorkspace(ctx)
	if err != nil {
		p.resultLine(fleet.FromDeploy(nil, err, nil))
		return err
	}
	d := newHere(p.opts, a.Handover.Env, cwd)
	defer d.close()
	d.jobs = deploy.Jobs{Skip: a.Handover.SkipJobs, RanOn: a.Handover.JobsRanOn}
	if a.Handover.ReportJobs {
		d.jobs.Settled = func() { fmt.Fprintln(p.opts.Stdout, fleet.JobsSettledLine(a.Handover.ResultToken)) }
	}
	err = d.run(ctx)
	hr := fleet.FromDeploy(d.res, err, d.running(ctx))
	if hr.Failure != nil {
		hr.Failure.Invalid = ExitCode(err) == ExitInvalid
	}
	p.resultLine(hr)
	return err
}

// fleetLockRole enters the host and holds its fleet lock until the runner
// lets go.
func fleetLockRole(ctx context.Context, p *process) error {
	a := p.arrival
	ctx, err := a.EnterHost(ctx)
	if err != nil {
		p.resultLine(fleet.FromDeploy(nil, err, nil))
		return err
	}
	return a.HoldFleetLock(ctx)
}

// fleetRole rolls the deploy across the hosts; this process only
// orchestrates.
func fleetRole(ctx context.Context, p *process) error {
	s := newSession(p.opts, p.env, p.opts.Cwd)
	defer s.close()
	if s.parseErr != nil {
		return s.invalidInputs()
	}
	return runFleet(ctx, s.cfg, s.env, p.opts, s.rep)
}

// resultLine prints a helper's result for the fleet's runner, when the
// runner asked for it.
func (p *process) resultLine(hr fleet.HostResult) {
	if p.arrival.Handover.ResultToken == "" {
		return
	}
	fmt.Fprintln(p.opts.Stdout, fleet.ResultLine(p.arrival.Handover.ResultToken, hr))
}

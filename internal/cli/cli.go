// Package cli wires the deploy to the outside world: it reads the inputs
// from the environment it is handed, connects to Docker and nginx, runs the
// deploy, and speaks to the runner. main stays a few lines around it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/dockerhost"
	"github.com/bluegreen-action/bluegreen/internal/fleet"
	"github.com/bluegreen-action/bluegreen/internal/hoist"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailed  = 1 // the deploy failed; the live color still serves
	ExitInvalid = 2 // bad inputs; nothing was touched
)

// Options are the process's surroundings, handed in by main.
type Options struct {
	Environ []string // os.Environ()
	Cwd     string
	Stdout  io.Writer
	// Stdin is os.Stdin: a hoisted helper reads its environment there.
	Stdin io.Reader
	// LockDir overrides deploy.DefaultLockDir; the BLUEGREEN_LOCK_DIR
	// environment variable does the same for the binary.
	LockDir string
	// StateDir overrides ledger.DefaultDir, where each project's history
	// lives; the BLUEGREEN_STATE_DIR environment variable does the same.
	StateDir string
	// Procfs overrides /proc for observing nginx (tests).
	Procfs string
	// OnResult, when set, receives the deploy's Result (tests, benchmarks).
	OnResult func(*deploy.Result)
	// HelperBinary is the static binary a fleet's helpers run on the
	// hosts (default: this process's own executable, as in the action).
	HelperBinary string
	// OnFleet, when set, receives a fleet rollout's Outcome (tests).
	OnFleet func(*fleet.Outcome)
}

// Main runs one deploy and returns the process exit code.
func Main(ctx context.Context, opts Options) int {
	// In an action container the deploy runs in a helper on the host; in
	// that helper this chroots into the host first (see package hoist). A
	// fleet's deploys run in helpers on its hosts: this process stays.
	env0 := config.EnvMap(opts.Environ)
	fleetRun := config.FleetRequested(func(k string) string { return env0[k] })
	h := hoist.Run(ctx, hoist.Options{Environ: opts.Environ, Cwd: opts.Cwd, Stdout: opts.Stdout, Stdin: opts.Stdin, Stay: fleetRun})
	if h.Done {
		if h.ResultToken != "" && h.Err != nil {
			fmt.Fprintln(opts.Stdout, fleet.ResultLine(h.ResultToken, fleet.FromDeploy(nil, h.Err, nil)))
		}
		return h.Code
	}
	ctx, opts.Cwd = h.Ctx, h.Cwd
	env := config.EnvMap(opts.Environ)
	if h.Env != nil {
		// In the helper: the environment the launcher handed over.
		env = h.Env
	}
	getenv := func(k string) string { return env[k] }
	rep := report.New(opts.Stdout, getenv)
	// compose-go warns through logrus; its lines go through rep, cleaned.
	defer rep.CaptureLogrus()()

	for _, s := range config.Secrets(getenv) {
		rep.Mask(s)
	}
	cfg, err := config.ParseEnviron(env, opts.Cwd)
	if cfg != nil {
		rep.MaskBasicAuth(cfg.Registry.Username, cfg.Registry.Password)
		for _, w := range cfg.Warnings {
			rep.Warnf("%s", w)
		}
	}
	if err == nil && cfg.Fleet.Enabled() {
		return runFleet(ctx, cfg, env, opts, rep)
	}
	d := &here{cfg: cfg, env: env, opts: opts, rep: rep}
	defer d.close()
	code := d.run(ctx, err)
	if h.ResultToken != "" {
		// A fleet's helper: the result goes back to the runner as data.
		hr := fleet.FromDeploy(d.res, d.err, d.running(ctx))
		if hr.Failure != nil {
			hr.Failure.Invalid = code == ExitInvalid
		}
		fmt.Fprintln(opts.Stdout, fleet.ResultLine(h.ResultToken, hr))
	}
	return code
}

// here is one deploy on the host this process runs on.
type here struct {
	cfg    *config.Config
	env    map[string]string
	opts   Options
	rep    *report.Reporter
	docker *client.Client
	res    *deploy.Result
	err    error
}

// run deploys, reports and returns the exit code; parseErr is what
// config.Parse said. d.res and d.err hold the deploy's result and failure.
func (d *here) run(ctx context.Context, parseErr error) int {
	rep, cfg, env, opts := d.rep, d.cfg, d.env, d.opts
	fail := func(code int, title string, err error) int {
		d.err = err
		rep.Errorf(title, "%v", err)
		return code
	}
	if parseErr != nil {
		// The compose files' problems too, so that one run lists all.
		var verr *config.ValidationError
		if errors.As(parseErr, &verr) {
			verr.Problems = append(verr.Problems, (&deploy.Deployer{Config: cfg, Report: rep, Env: env}).Check()...)
		}
		return fail(ExitInvalid, "Invalid inputs", parseErr)
	}

	history, err := ledger.New(firstNonEmpty(opts.StateDir, env["BLUEGREEN_STATE_DIR"]), cfg.ProjectName, cfg.Operate.HistoryLimit)
	if err != nil {
		return fail(ExitInvalid, "Invalid inputs", err)
	}
	if cfg.Mode == config.ModeHistory {
		// The history is a file on this host: no Docker, no nginx.
		dep := &deploy.Deployer{Config: cfg, Target: deploy.Target{History: history}, Report: rep}
		d.res, d.err = dep.Run(ctx)
		return finish(rep, cfg, opts, d.res, d.err)
	}

	host := dockerhost.Host(env["DOCKER_HOST"])
	docker, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return fail(ExitFailed, "Docker", fmt.Errorf("failed to create a Docker client for %s: %w", host, err))
	}
	d.docker = docker
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = docker.Ping(pingCtx)
	cancel()
	if err != nil {
		return fail(ExitFailed, "Docker", dockerhost.Unreachable(host, env["DOCKER_HOST"] != "", "", err))
	}

	auth, err := registryAuth(cfg.Registry)
	if err != nil {
		return fail(ExitInvalid, "Invalid inputs", err)
	}
	sw, nginxNetworks, err := newSwitcher(ctx, docker, cfg, opts, rep)
	if err != nil {
		return fail(nginxExitCode(err), "nginx", err)
	}
	dep := &deploy.Deployer{
		Config: cfg,
		Target: deploy.Target{
			Engine:        &compose.Engine{Docker: docker, Build: cfg.Build, Progress: rep},
			Nginx:         sw,
			Drain:         nginx.Drain,
			Lock:          deploy.HostLocker{Dir: firstNonEmpty(opts.LockDir, env["BLUEGREEN_LOCK_DIR"])},
			History:       history,
			NginxNetworks: nginxNetworks,
			MarkerAllow:   nginx.MarkerSources(ctx, cfg.Nginx.VerifyURL),
		},
		Report:   rep,
		Env:      env,
		Registry: compose.Credentials{Registry: cfg.Registry.Server, Auth: auth},
	}
	if path := cfg.Operate.PreviewIncludePath; path != "" {
		dep.Preview = &nginx.Switcher{IncludePath: path, TestCmd: cfg.Nginx.TestCmd, ReloadCmd: cfg.Nginx.ReloadCmd, Procfs: opts.Procfs, Logf: rep.Infof, Warnf: rep.Warnf}
	}
	d.res, d.err = dep.Run(ctx)
	return finish(rep, cfg, opts, d.res, d.err)
}

func (d *here) close() {
	if d.docker != nil {
		_ = d.docker.Close()
	}
}

// running lists the live color's running containers after the deploy,
// for a fleet's check whether a host already runs the image.
func (d *here) running(ctx context.Context) []compose.Container {
	if d.docker == nil || d.res == nil || d.res.Active == color.None {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	cs, err := (&compose.Engine{Docker: d.docker}).List(ctx, d.cfg.ProjectFor(d.res.Active))
	if err != nil {
		return nil
	}
	var out []compose.Container
	for _, c := range cs {
		if c.Running {
			out = append(out, c)
		}
	}
	return out
}

// finish hands a run's result to the runner: outputs, the job summary,
// the failure said once, the exit code.
func finish(rep *report.Reporter, cfg *config.Config, opts Options, res *deploy.Result, err error) int {
	if opts.OnResult != nil {
		opts.OnResult(res)
	}
	for _, kv := range res.Outputs() {
		if oerr := rep.Output(kv[0], kv[1]); oerr != nil {
			rep.Warnf("%v", oerr)
		}
	}
	if serr := rep.Summary(res.Summary(cfg.ProjectName)); serr != nil {
		rep.Warnf("%v", serr)
	}
	if err != nil {
		reportFailure(rep, err)
		if errors.Is(err, config.ErrInvalid) {
			return ExitInvalid
		}
		return ExitFailed
	}
	switch {
	case cfg.Mode == config.ModeHistory:
	case cfg.Mode == config.ModeStatus:
		rep.Infof("live color: %s", orNone(res.Active))
	case cfg.Mode == config.ModeStage:
		rep.Infof("staged %s on %s in %s (deploy %s); nginx still serves %s", res.Staged, res.PreviewURL, res.Elapsed.Round(time.Millisecond), res.DeployID, orNone(res.Active))
	case cfg.Mode == config.ModeAbort:
		rep.Infof("nothing staged any more; nginx still serves %s", orNone(res.Active))
	case res.Previous == color.None:
		rep.Infof("deployed %s on %s in %s (first deploy)", res.Active, res.ActiveURL, res.Elapsed.Round(time.Millisecond))
	default:
		rep.Infof("deployed %s on %s in %s: %s → %s", res.Active, res.ActiveURL, res.Elapsed.Round(time.Millisecond), res.Previous, res.Active)
	}
	return ExitOK
}

func orNone(c color.Color) string {
	if c == color.None {
		return "none"
	}
	return c.String()
}

// registryAuth encodes the registry credentials for the Docker API; they
// never appear on a command line or in the log.
func registryAuth(r config.Registry) (string, error) {
	if r.Username == "" {
		return "", nil
	}
	auth, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: r.Username, Password: r.Password, ServerAddress: r.Server})
	if err != nil {
		return "", fmt.Errorf("failed to encode the registry credentials: %w", err)
	}
	return auth, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// reportFailure prints a failed deploy once: the phase as the title, the
// cause, then what to do and what was undone.
func reportFailure(rep *report.Reporter, err error) {
	var pe *deploy.PhaseError
	if !errors.As(err, &pe) {
		rep.Errorf("Deploy failed", "%v", err)
		return
	}
	msg := pe.Err.Error()
	for _, d := range pe.Details() {
		msg += "\n" + d
	}
	rep.Errorf("Deploy failed: "+pe.Phase, "%s", msg)
}

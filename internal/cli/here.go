package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/dockerdiag"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// session is what a deploy and a fleet's rollout start from: the reporter
// that speaks to the runner, with every secret masked, and the inputs
// parsed once. cfg may be partial when parseErr is set.
type session struct {
	opts     Options
	env      map[string]string
	rep      *report.Reporter
	cfg      *config.Config
	parseErr error
	restore  func()
}

func newSession(opts Options, env map[string]string, cwd string) *session {
	getenv := func(k string) string { return env[k] }
	rep := report.New(opts.Stdout, getenv)
	// compose-go warns through logrus; its lines go through rep, cleaned.
	s := &session{opts: opts, env: env, rep: rep, restore: rep.CaptureLogrus()}
	for _, secret := range config.Secrets(getenv) {
		rep.Mask(secret)
	}
	s.cfg, s.parseErr = config.ParseEnviron(env, cwd)
	if s.cfg != nil {
		rep.MaskBasicAuth(s.cfg.Registry.Username, s.cfg.Registry.Password)
		for _, w := range s.cfg.Warnings {
			rep.Warnf("%s", w)
		}
	}
	return s
}

func (s *session) close() { s.restore() }

// fail says err once under title and returns it.
func (s *session) fail(title string, err error) error {
	s.rep.Errorf(title, "%v", err)
	return err
}

// invalidInputs says what config.Parse found wrong, with the compose
// files' problems too, so that one run lists them all.
func (s *session) invalidInputs() error {
	var verr *config.ValidationError
	if errors.As(s.parseErr, &verr) {
		verr.Problems = append(verr.Problems, (&deploy.Deployer{Config: s.cfg, Report: s.rep, Env: s.env}).Check()...)
	}
	return invalid(s.fail("Invalid inputs", s.parseErr))
}

// here is one deploy on the host this process runs on.
type here struct {
	*session
	docker *client.Client
	res    *deploy.Result
	// jobs is how the deploy runs the jobs: as on one host unless a
	// fleet's runner said otherwise.
	jobs deploy.Jobs
}

// newHere reads the inputs from env for a deploy in cwd.
func newHere(opts Options, env map[string]string, cwd string) *here {
	return &here{session: newSession(opts, env, cwd)}
}

// run deploys and reports; d.res holds the deploy's result.
func (d *here) run(ctx context.Context) error {
	cfg, env, opts := d.cfg, d.env, d.opts
	if d.parseErr != nil {
		return d.invalidInputs()
	}

	history, err := ledger.New(firstNonEmpty(opts.StateDir, env["BLUEGREEN_STATE_DIR"]), cfg.ProjectName, cfg.Operate.HistoryLimit)
	if err != nil {
		return invalid(d.fail("Invalid inputs", err))
	}
	if cfg.Mode == config.ModeHistory {
		// The history is a file on this host: no Docker, no nginx.
		dep := &deploy.Deployer{Config: cfg, Target: deploy.Target{History: history}, Report: d.rep}
		d.res, err = dep.Run(ctx)
		return d.finish(err)
	}

	host := dockerdiag.Host(env["DOCKER_HOST"])
	docker, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return d.fail("Docker", fmt.Errorf("failed to create a Docker client for %s: %w", host, err))
	}
	d.docker = docker
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = docker.Ping(pingCtx)
	cancel()
	if err != nil {
		return d.fail("Docker", dockerdiag.Unreachable(host, env["DOCKER_HOST"] != "", "", err))
	}

	auth, err := registryAuth(cfg.Registry)
	if err != nil {
		return invalid(d.fail("Invalid inputs", err))
	}
	sw, nginxNetworks, err := newSwitcher(ctx, docker, cfg, opts, d.rep)
	if err != nil {
		return nginxFailure(d.fail("nginx", err))
	}
	dep := &deploy.Deployer{
		Config: cfg,
		Target: deploy.Target{
			Engine:        &compose.Engine{Docker: docker, Build: cfg.Build, Progress: d.rep},
			Nginx:         sw,
			Drain:         nginx.Drain,
			Lock:          deploy.HostLocker{Dir: firstNonEmpty(opts.LockDir, env["BLUEGREEN_LOCK_DIR"])},
			NginxLock:     deploy.HostLocker{Dir: firstNonEmpty(opts.LockDir, env["BLUEGREEN_LOCK_DIR"])},
			History:       history,
			NginxNetworks: nginxNetworks,
			MarkerAllow:   nginx.MarkerSources(ctx, cfg.Nginx.VerifyURL),
		},
		Report:   d.rep,
		Env:      env,
		Registry: compose.Credentials{Registry: cfg.Registry.Server, Auth: auth},
		Jobs:     d.jobs,
	}
	trafficTarget(ctx, docker, cfg, opts, sw, &dep.Target)
	if path := cfg.Operate.PreviewIncludePath; path != "" {
		dep.Preview = &nginx.Switcher{IncludePath: path, TestCmd: cfg.Nginx.TestCmd, ReloadCmd: cfg.Nginx.ReloadCmd, Procfs: opts.Procfs, Logf: d.rep.Infof, Warnf: d.rep.Warnf}
	}
	d.res, err = dep.Run(ctx)
	return d.finish(err)
}

func (d *here) close() {
	if d.docker != nil {
		_ = d.docker.Close()
	}
	d.session.close()
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
// the failure said once (err, which it returns), or what was done.
func (d *here) finish(err error) error {
	rep, cfg, opts, res := d.rep, d.cfg, d.opts, d.res
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
			return invalid(err)
		}
		return err
	}
	switch {
	case cfg.Mode == config.ModeHistory:
	case cfg.Mode == config.ModeStatus && res.Active != color.None:
		rep.Infof("live color: %s (image %s, deploy %s)", res.Active, orUnknown(res.Image), orUnknown(res.OutputDeployID()))
	case cfg.Mode == config.ModeStatus:
		rep.Infof("live color: none")
	case cfg.Mode == config.ModeStage:
		rep.Infof("staged %s on %s in %s (deploy %s); nginx still serves %s", res.Staged, res.PreviewURL, res.Elapsed.Round(time.Millisecond), res.DeployID, orNone(res.Active))
	case cfg.Mode == config.ModeAbort:
		rep.Infof("nothing staged any more; nginx still serves %s", orNone(res.Active))
	case cfg.Mode == config.ModeMaintenance:
		rep.Infof("nginx answers 503 (maintenance) in front of %s; no container was touched", orNone(res.Active))
	case cfg.Mode == config.ModeLive:
		rep.Infof("nginx serves %s as before maintenance", orNone(res.Active))
	case res.Previous == color.None:
		rep.Infof("deployed %s on %s in %s (first deploy)", res.Active, res.ActiveURL, res.Elapsed.Round(time.Millisecond))
	default:
		rep.Infof("deployed %s on %s in %s: %s → %s", res.Active, res.ActiveURL, res.Elapsed.Round(time.Millisecond), res.Previous, res.Active)
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
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

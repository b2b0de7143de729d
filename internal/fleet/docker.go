package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/hoist"
)

// Docker is the Driver of real hosts: each host's Docker API, reached
// over SSH or TCP+TLS, runs the helper container the hoist runs (the same
// binary, made present as HelperImage), with the deploy's environment and
// files handed over on its stdin.
type Docker struct {
	Config *config.Config
	// Env is the runner's environment; what reaches the hosts is what
	// hoist.Forwarded lets through, less the fleet's own inputs.
	Env    map[string]string
	Bundle *Bundle
	Image  *HelperImage
	Creds  *Credentials
	Report Reporter
	// RolloutID names this rollout: its files' directory on each host
	// (hoist.DeployDir) and its helper containers.
	RolloutID string

	mu    sync.Mutex
	conns map[string]*conn
	seq   atomic.Int64
}

var _ Driver = (*Docker)(nil)

// NewRolloutID returns an id that sorts by time, as deploy ids do.
func NewRolloutID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Labels of a fleet's helper containers.
const (
	LabelRollout = LabelHelper + ".rollout"
	LabelProject = LabelHelper + ".project"
)

// fleetInputs are the inputs only the runner reads: none of them, the
// SSH key least of all, goes to a host.
var fleetInputs = map[string]bool{
	"INPUT_HOSTS": true, "INPUT_SSH-PRIVATE-KEY": true, "INPUT_SSH-KNOWN-HOSTS": true,
	"INPUT_DOCKER-TLS-CA": true, "INPUT_DOCKER-TLS-CERT": true, "INPUT_DOCKER-TLS-KEY": true,
	"INPUT_MAX-PARALLEL": true, "INPUT_FLEET-FAILURE": true,
}

// HostEnv is the environment a host's deploy runs with: the runner's
// forwarded variables, the fleet's own inputs removed, and the inputs
// that name files pointed at the shipped copies in dir. The host's deploy
// runs outside Actions (its log comes back through the runner, prefixed),
// writes its step outputs and summary to /dev/null (its result comes back
// as data) and keeps the previous color for a rollback.
func HostEnv(runner map[string]string, cfg *config.Config, b *Bundle, dir string, mode config.Mode) map[string]string {
	env := map[string]string{}
	for k, v := range runner {
		if hoist.Forwarded(k) && !fleetInputs[k] {
			env[k] = v
		}
	}
	for _, k := range []string{"GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE", "INPUT_WORKING-DIRECTORY", "INPUT_COMPOSE-FILE", "INPUT_BLUE-COMPOSE-FILE", "INPUT_GREEN-COMPOSE-FILE"} {
		delete(env, k)
	}
	env["GITHUB_WORKSPACE"] = dir
	// The host's own outputs and summary would only repeat its result.
	env["GITHUB_OUTPUT"] = os.DevNull
	env["GITHUB_STEP_SUMMARY"] = os.DevNull
	env["DOCKER_HOST"] = "unix://" + RemoteSocket
	env["INPUT_MODE"] = string(mode)
	env["INPUT_PROJECT-NAME"] = cfg.ProjectName
	env["INPUT_KEEP-PREVIOUS"] = "true"
	if cfg.SingleFile {
		env["INPUT_COMPOSE-FILE"] = strings.Join(b.Compose[color.Blue], "\n")
	} else {
		env["INPUT_BLUE-COMPOSE-FILE"] = strings.Join(b.Compose[color.Blue], "\n")
		env["INPUT_GREEN-COMPOSE-FILE"] = strings.Join(b.Compose[color.Green], "\n")
	}
	env["INPUT_ENV-FILE"] = b.EnvFile
	return env
}

func (d *Docker) conn(h Host) (*conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.conns[h.Name]
	if !ok {
		return nil, fmt.Errorf("%s is not connected", h.Name)
	}
	return c, nil
}

// Connect reaches h's daemon, checks it answers, and makes the helper
// image present.
func (d *Docker) Connect(ctx context.Context, h Host) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c, err := d.Creds.dial(ctx, h.Endpoint)
	if err != nil {
		return "", err
	}
	pctx, pcancel := context.WithTimeout(ctx, dialTimeout)
	_, err = c.docker.Ping(pctx)
	pcancel()
	if err != nil {
		c.Close()
		return "", fmt.Errorf("failed to reach the Docker daemon of %s: %w", h.Name, err)
	}
	info, err := c.docker.Info(ctx)
	if err != nil {
		c.Close()
		return "", fmt.Errorf("failed to read the Docker daemon's info on %s: %w", h.Name, err)
	}
	imported, err := d.Image.ensure(ctx, c.docker)
	if err != nil {
		c.Close()
		return "", err
	}
	if imported {
		d.Report.Infof("%s: loaded the helper image %s (%d KiB)", h.Name, d.Image.Tag, len(d.Image.binary)>>10)
	}
	d.mu.Lock()
	if d.conns == nil {
		d.conns = map[string]*conn{}
	}
	if old := d.conns[h.Name]; old != nil {
		old.Close()
	}
	d.conns[h.Name] = c
	d.mu.Unlock()
	// The daemon's id alone is not enough: machines cloned from one
	// image after Docker first ran share it (Docker 20.10 derives it from
	// /etc/docker/key.json). With the host name it tells machines apart
	// and still finds one daemon listed under two names.
	return info.ID + "/" + info.Name, nil
}

// Close closes every connection.
func (d *Docker) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
}

func (d *Docker) helper(c *conn, h Host, task string, ho hoist.Handover, out *lineWriter) *hoist.Helper {
	name := fmt.Sprintf("bluegreen-fleet-%s-%s-%s-%d", d.Config.ProjectName, d.RolloutID, task, d.seq.Add(1))
	return &hoist.Helper{
		Docker:   c.docker,
		Name:     name,
		Image:    d.Image.Tag,
		Exe:      d.Image.Exe,
		Settings: hoist.HelperSettings("/", ""),
		Labels: map[string]string{
			LabelHelper:  task,
			LabelRollout: d.RolloutID,
			LabelProject: d.Config.ProjectName,
		},
		Handover:  ho,
		Out:       out,
		HoldStdin: true,
	}
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Run runs one deploy on h in a helper, relays its log prefixed by the
// host and returns the result it sends back.
func (d *Docker) Run(ctx context.Context, h Host, mode config.Mode) (HostResult, error) {
	c, err := d.conn(h)
	if err != nil {
		return HostResult{}, err
	}
	token := newToken()
	var (
		mu     sync.Mutex
		result *HostResult
	)
	out := d.relay(h, func(line string) bool {
		if r, ok := ParseResultLine(token, line); ok {
			mu.Lock()
			result = &r
			mu.Unlock()
			return true
		}
		return false
	})
	dir := hoist.DeployDir(d.Config.ProjectName, d.RolloutID)
	ho := hoist.Handover{
		Env:         HostEnv(d.Env, d.Config, d.Bundle, dir, mode),
		Dir:         dir,
		Files:       d.Bundle.Files,
		ResultToken: token,
		WatchStdin:  true,
	}
	helper := d.helper(c, h, string(mode), ho, out)
	code, err := helper.Run(ctx)
	out.Close()
	if err != nil {
		return HostResult{}, err
	}
	mu.Lock()
	defer mu.Unlock()
	if result == nil {
		return HostResult{}, fmt.Errorf("the helper on %s exited with code %d without sending its result back", h.Name, code)
	}
	result.ExitCode = code
	return *result, nil
}

// Lock starts the helper that holds h's fleet lock, and waits until it
// says it holds it.
func (d *Docker) Lock(ctx context.Context, h Host, wait bool) (func(), error) {
	c, err := d.conn(h)
	if err != nil {
		return nil, err
	}
	token := newToken()
	locked := make(chan struct{})
	var once sync.Once
	var busy atomic.Bool
	out := d.relay(h, func(line string) bool {
		p, ok := hoist.CutTokenLine(token, line)
		switch {
		case ok && p == "locked":
			once.Do(func() { close(locked) })
		case ok && p == "busy":
			busy.Store(true)
		}
		return ok
	})
	release := make(chan struct{})
	timeout := d.Config.LockTimeout
	if !wait {
		timeout = 0
	}
	ho := hoist.Handover{
		Env:         map[string]string{},
		ResultToken: token,
		WatchStdin:  true,
		Lock: &hoist.FleetLock{
			Project:  d.Config.ProjectName,
			Timeout:  timeout,
			RunID:    d.Config.Run.RunID,
			SHA:      d.Config.Run.SHA,
			Workflow: d.Config.Run.Workflow,
		},
	}
	helper := d.helper(c, h, "lock", ho, out)
	helper.Release = release
	type exit struct {
		code int
		err  error
	}
	exited := make(chan exit, 1)
	go func() {
		// The lock's lifetime is Release's, not ctx's.
		code, err := helper.Run(context.WithoutCancel(ctx))
		out.Close()
		exited <- exit{code, err}
	}()
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() { close(release) })
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			d.Report.Warnf("%s: the fleet lock's helper did not end within 30s; it ends when its connection closes", h.Name)
		}
	}
	select {
	case <-locked:
		return stop, nil
	case e := <-exited:
		switch {
		case e.err != nil:
			return nil, e.err
		case busy.Load():
			return nil, ErrLockBusy
		}
		return nil, fmt.Errorf("failed to take the fleet lock (the lock's helper exited with code %d)", e.code)
	case <-ctx.Done():
		stop()
		return nil, fmt.Errorf("gave up waiting for the fleet lock: %w", context.Cause(ctx))
	}
}

// ErrLockBusy is a fleet lock another rollout holds, when Lock may not
// wait.
var ErrLockBusy = errors.New("another rollout holds it")

// relay is the writer a helper's output goes to: each line is offered to
// take (a result line is taken and not shown), else printed prefixed by
// the host, through the Reporter, which cleans it and redacts secrets.
func (d *Docker) relay(h Host, take func(string) bool) *lineWriter {
	return newLineWriter(func(line string) {
		if take(line) {
			return
		}
		d.Report.Infof("%s | %s", h.Name, line)
	})
}

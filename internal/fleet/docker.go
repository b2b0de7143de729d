package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/dockerdiag"
	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// Docker is the Driver of real hosts: each host's Docker API, reached
// over SSH or TCP+TLS, runs the helper container the hoist runs (the same
// binary, made present as HelperImage), with the deploy's environment and
// files handed over on its stdin.
type Docker struct {
	Config *config.Config
	// Env is the runner's environment; what reaches the hosts is what
	// hosthelper.Forwarded lets through, less the fleet's own inputs.
	Env    map[string]string
	Bundle *Bundle
	Image  *HelperImage
	Creds  *Credentials
	Report Reporter
	// RolloutID names this rollout: its files' directory on each host
	// (hosthelper.DeployDir) and its helper containers.
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

// Close removes what this rollout's helpers left on each host, then
// closes every connection.
func (d *Docker) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		d.sweep(c)
		c.Close()
	}
	d.conns = nil
}

// sweep removes this rollout's helper containers that no longer run. A
// helper is created with AutoRemove and removed when it ends, but one
// whose daemon restarted under it can be left stopped, its removal never
// run (the daemon did not answer then). Running helpers are left alone:
// a rollback's helper finishes even when the runner goes away.
func (d *Docker) sweep(c *conn) {
	if c.docker == nil || d.RolloutID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	args := filters.NewArgs(filters.Arg("label", LabelRollout+"="+d.RolloutID))
	for _, st := range []string{"created", "exited", "dead"} {
		args.Add("status", st)
	}
	list, err := c.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return
	}
	for _, ct := range list {
		_ = c.docker.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true})
	}
}

func (d *Docker) helper(c *conn, h Host, task string, ho hosthelper.Handover, out *lineWriter) *hosthelper.Helper {
	name := fmt.Sprintf("bluegreen-fleet-%s-%s-%s-%d", d.Config.ProjectName, d.RolloutID, task, d.seq.Add(1))
	return &hosthelper.Helper{
		Docker:   c.docker,
		Name:     name,
		Image:    d.Image.Tag,
		Exe:      d.Image.Exe,
		Settings: hosthelper.HelperSettings("/", ""),
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
// host and returns the result it sends back, checked (Check); jobs goes
// with the handover, and the helper's JobsSettledLine, when it asked for
// one, calls jobs.Settled. A deploy's
// helper stops when the runner goes away (it watches its stdin); a
// rollback's does not: a rollback that has started finishes even when the
// runner is killed, since stopping it half-way could leave the host on
// the version being rolled back.
func (d *Docker) Run(ctx context.Context, h Host, mode config.Mode, jobs deploy.Jobs) (HostResult, error) {
	c, err := d.conn(h)
	if err != nil {
		return HostResult{}, err
	}
	token := newToken()
	var (
		mu     sync.Mutex
		result *HostResult
		phase  string
	)
	out := d.relay(h, func(line string) bool {
		if isJobsSettledLine(token, line) {
			if jobs.Settled != nil {
				jobs.Settled()
			}
			return true
		}
		if r, ok := ParseResultLine(token, line); ok {
			mu.Lock()
			result = &r
			mu.Unlock()
			return true
		}
		if p, ok := strings.CutPrefix(line, "==> "); ok {
			mu.Lock()
			phase = p
			mu.Unlock()
		}
		return false
	})
	dir := hosthelper.DeployDir(d.Config.ProjectName, d.RolloutID)
	watch := mode != config.ModeRollback
	ho := hosthelper.Handover{
		Env:         HostEnv(d.Env, d.Config, d.Bundle, dir, mode),
		Dir:         dir,
		Files:       d.Bundle.Files,
		ResultToken: token,
		WatchStdin:  watch,
		SkipJobs:    jobs.Skip,
		JobsRanOn:   jobs.RanOn,
		ReportJobs:  jobs.Settled != nil,
	}
	helper := d.helper(c, h, string(mode), ho, out)
	helper.HoldStdin = watch
	code, err := helper.Run(ctx)
	out.Close()
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		if helper.Started() {
			err = fmt.Errorf("lost the %s helper on %s%s: %w", mode, h.Name, during(phase), err)
		}
		if dockerdiag.Unanswered(err) {
			return HostResult{}, &TransientError{Ran: helper.Started(), Err: err}
		}
		return HostResult{}, err
	}
	if result == nil {
		return HostResult{}, fmt.Errorf("the %s helper on %s exited with code %d%s without sending its result back", mode, h.Name, code, during(phase))
	}
	if err := result.Check(mode, d.Config); err != nil {
		return HostResult{}, fmt.Errorf("refusing the result %s sent back: %w", h.Name, err)
	}
	result.ExitCode = code
	return *result, nil
}

// during names the phase a host's deploy printed last, so that a lost
// deploy's message says where it was.
func during(phase string) string {
	if phase == "" {
		return " before its first phase"
	}
	if r := []rune(phase); len(r) > 120 {
		phase = string(r[:120]) + "…"
	}
	return fmt.Sprintf(" during its phase %q", phase)
}

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

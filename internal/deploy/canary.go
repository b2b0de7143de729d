package deploy

// The canary phase (issue 20): between the new color's health check and
// the full switch, the include sends a share of requests to the new color
// for each of canary-steps, sticky per client. Each step is a checked
// switch (nginx -t, reload, the front door's marker), held for
// canary-interval while nginx records what each color answered, then
// judged on that evidence alone. A breach, a container that stops, a
// failed probe or a cancel puts every request back on the old color (the
// include that served before, byte for byte) and fails the phase, whose
// undo removes the new color.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// Evidence is nginx's record of what each color answered, as a canary
// reads it (nginx.EvidenceFiles on a host).
type Evidence interface {
	// Prepare makes nginx able to log the evidence and returns the log a
	// canary include names and the directives it must repeat.
	Prepare(ctx context.Context) (nginx.EvidenceLog, []string, error)
	// Mark is where the next window of the log starts.
	Mark() (int64, error)
	// Since reads the window from mark, telling colors apart by addrs.
	Since(mark int64, addrs map[string]color.Color) (nginx.Evidence, int64, error)
	// Remove deletes the log once the canary is over.
	Remove()
}

var _ Evidence = (*nginx.EvidenceFiles)(nil)

// ErrCanary means a canary step failed: the evidence broke a limit, the
// step could not be set up, or the deploy was cancelled during it.
var ErrCanary = errors.New("the canary failed")

// CanaryStep is one step of a canary, for the summary.
type CanaryStep struct {
	Percent int
	Verdict nginx.Verdict
	// Result is "passed", "failed", "no evidence" or why the step ended.
	Result string
}

// canaryWanted reports whether this run switches in steps: canary-steps
// is set, the mode deploys a new version, and an old color serves to be
// compared with.
func (r *run) canaryWanted() bool {
	if !r.cfg.Canary.Enabled() || (r.cfg.Mode != config.ModeDeploy && r.cfg.Mode != config.ModePromote) {
		return false
	}
	if r.live.Color == color.None {
		r.d.Report.Infof("first deploy: no old color to compare %s with, so canary-steps is skipped", r.target)
		return false
	}
	return true
}

// canaryPhase is the canary as a phase of promote (when canaryWanted):
// each step, failing through fail.
func (r *run) canaryPhase(ctx context.Context, p *plan, traffic compose.Container, from origin) error {
	name := fmt.Sprintf("Canary %s at %s %%", r.target, joinInts(r.cfg.Canary.Steps, ", "))
	if err := r.phase(PhaseCanary, name, func() error { return r.canary(ctx, p, traffic) }); err != nil {
		return r.fail(ctx, newPhaseError(PhaseCanary, name, err), traffic, from)
	}
	return nil
}

// canary runs the steps. On any failure it has put the include that
// served before back itself (bounded, even when ctx was cancelled).
func (r *run) canary(ctx context.Context, p *plan, traffic compose.Container) (err error) {
	if r.d.Evidence == nil {
		return fmt.Errorf("%w: canary-steps needs nginx's evidence, which this target cannot read", ErrCanary)
	}
	log, keep, err := r.d.Evidence.Prepare(ctx)
	if err != nil {
		return withHint(fmt.Errorf("%w: %w", ErrCanary, err), "the canary is judged on nginx's own access log; see docs/nginx.md (Evidence from nginx)")
	}
	defer func() {
		// On success the log goes after the full switch (afterCanary):
		// until then the last step's include names it, and every nginx -t
		// would create it again.
		if err != nil {
			err = r.canaryBack(ctx, p, traffic, err)
			r.d.Evidence.Remove()
		}
	}()
	oldData, newData, err := r.canaryData(ctx, p, traffic)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCanary, err)
	}
	addrs := nginx.EvidenceAddrs(ctx, oldData, newData)
	for _, pct := range r.cfg.Canary.Steps {
		c := nginx.Canary{Old: oldData, New: newData, Percent: pct, Name: r.cfg.ProjectName, Evidence: &log, Keep: keep}
		step := CanaryStep{Percent: pct}
		serr := r.canaryStep(ctx, p, traffic, c, addrs, &step)
		r.res.Canary = append(r.res.Canary, step)
		if serr != nil {
			return serr
		}
	}
	return nil
}

// canaryData is the template data of the old color as it serves and of
// the new one, each with all its servers.
func (r *run) canaryData(ctx context.Context, p *plan, traffic compose.Container) (oldData, newData nginx.TemplateData, err error) {
	oc := r.live.Color
	op := r.plans[oc]
	oldTraffic := findService(r.live.Running[oc], op.Service)
	oldData = r.templateData(op, oldTraffic)
	if m, found, _ := nginx.ReadMarker(r.live.Include); found {
		oldData.DeployID = m.DeployID
	} else {
		oldData.DeployID = ""
	}
	servers, err := r.servers(ctx, op, oldTraffic)
	if err != nil {
		return oldData, newData, err
	}
	oldData.Servers = r.serverData(op, servers)
	newData = r.templateData(p, traffic)
	if servers, err = r.servers(ctx, p, traffic); err != nil {
		return oldData, newData, err
	}
	newData.Servers = r.serverData(p, servers)
	return oldData, newData, nil
}

// canaryStep switches to one step, holds it and judges it.
func (r *run) canaryStep(ctx context.Context, p *plan, traffic compose.Container, c nginx.Canary, addrs map[string]color.Color, step *CanaryStep) error {
	next, err := r.tmpl.RenderCanary(c)
	if err != nil {
		step.Result = "not rendered"
		return fmt.Errorf("%w: failed to render the canary include for %d %%: %w", ErrCanary, c.Percent, err)
	}
	r.d.Report.Infof("step %d %%: writing %s:\n%s", c.Percent, r.cfg.Nginx.IncludePath, indent(string(next)))
	var reload *nginx.Reload
	switched := false
	err = r.withNginx(ctx, func() (err error) {
		if reload, err = r.d.Nginx.Switch(ctx, next); err != nil {
			return err
		}
		switched = true
		return r.confirmAnswer(ctx, next, c.Marker(), true)
	})
	if err != nil {
		step.Result = "switch failed"
		if switched {
			step.Result = "not confirmed"
		}
		return fmt.Errorf("%w: step %d %%: %w", ErrCanary, c.Percent, err)
	}
	// Count from when nginx's workers of the step before have gone, so
	// that the window holds this step's share (bounded: a long-lived
	// connection may keep one for long).
	if r.d.Drain != nil {
		_, _ = r.d.Drain(ctx, reload, "", min(2*time.Second, r.cfg.Canary.Interval/4))
	}
	mark, err := r.d.Evidence.Mark()
	if err != nil {
		step.Result = "no evidence"
		return fmt.Errorf("%w: step %d %%: %w", ErrCanary, c.Percent, err)
	}
	r.d.Report.Infof("    %d %% of requests on %s; holding for %s (canary-interval)", c.Percent, r.target, r.cfg.Canary.Interval)
	if err := r.hold(ctx, p, traffic); err != nil {
		step.Result = "stopped"
		return fmt.Errorf("%w: step %d %%: %w", ErrCanary, c.Percent, err)
	}
	ev, _, err := r.d.Evidence.Since(mark, addrs)
	if err != nil {
		step.Result = "no evidence"
		return fmt.Errorf("%w: step %d %%: %w", ErrCanary, c.Percent, err)
	}
	limits := nginx.Limits{MaxErrorRate: r.cfg.Canary.MaxErrorRate, MaxLatencyRatio: r.cfg.Canary.MaxLatencyRatio}
	v, err := nginx.Judge(ev, r.live.Color, r.target, limits)
	step.Verdict = v
	if err != nil {
		step.Result = "failed"
		return fmt.Errorf("step %d %%: %w", c.Percent, err)
	}
	if ev.Malformed > 0 {
		r.d.Report.Warnf("the evidence log held %d line(s) nginx did not write in its format; they were not counted", ev.Malformed)
	}
	if v.Inconclusive {
		if v.Old.Errors > 0 {
			step.Result = "failed"
			return fmt.Errorf("%w: step %d %%: no request reached %s, and nginx answered %d of %s's %d requests with 5xx (evidence from nginx: %s)",
				ErrCanary, c.Percent, r.target, v.Old.Errors, r.live.Color, v.Old.Requests, v.Evidence())
		}
		step.Result = "no evidence"
		r.d.Report.Warnf("step %d %%: no request reached %s during %s, so nginx's evidence judges nothing (evidence from nginx: %s); going on, the health check held", c.Percent, r.target, r.cfg.Canary.Interval, v.Evidence())
		return nil
	}
	step.Result = "passed"
	r.d.Report.Infof("    step %d %% passed: %s", c.Percent, v.Evidence())
	return nil
}

// hold waits canary-interval while watching the new color's container and
// probing its health, so that a crash ends the step at once.
func (r *run) hold(ctx context.Context, p *plan, traffic compose.Container) error {
	deadline := time.Now().Add(r.cfg.Canary.Interval)
	for {
		if err := r.watchContainer(ctx, traffic); err != nil {
			return err
		}
		if err := r.probeOnce(ctx, p); err != nil {
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		if err := sleep(ctx, min(r.cfg.Health.Interval, left)); err != nil {
			return err
		}
	}
}

// canaryBack puts every request back on the old color after a failed
// step: the include that served before, then the new color drained. It
// runs even when ctx was cancelled, bounded by the clean-up timeout.
func (r *run) canaryBack(ctx context.Context, p *plan, traffic compose.Container, cause error) error {
	if !r.includeChanged() {
		return cause // nginx never left the include that served (a failed switch restores it)
	}
	cctx, cancel := r.cleanupContext(ctx, 0)
	var back *nginx.Reload
	err := r.withNginx(cctx, func() (err error) {
		back, err = r.d.Nginx.Switch(cctx, r.live.Include)
		return err
	})
	cancel()
	if err != nil {
		return fmt.Errorf("%w; putting every request back on %s FAILED: %w", cause, r.live.Color, err)
	}
	upstream := net.JoinHostPort(r.cfg.UpstreamHost, strconv.Itoa(p.HostPort))
	if ip, shared := nginx.UpstreamIP(traffic.IPs, r.d.NginxNetworks); shared {
		upstream = net.JoinHostPort(ip, strconv.Itoa(p.ContainerPort))
	}
	if r.d.Drain != nil {
		dctx, cancel := r.cleanupContext(ctx, r.cfg.DrainTimeout)
		_, _ = r.d.Drain(dctx, back, upstream, r.cfg.DrainTimeout)
		cancel()
	}
	r.d.Report.Infof("every request is back on %s", r.live.Color)
	return fmt.Errorf("%w; every request was put back on %s", cause, r.live.Color)
}

// includeChanged reports whether the include on disk is not the one that
// served before the canary.
func (r *run) includeChanged() bool {
	cur, exists, err := r.d.Nginx.Read()
	return err != nil || exists != r.live.IncludeExists || string(cur) != string(r.live.Include)
}

func joinInts(ns []int, sep string) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, sep)
}

// refuseUncanaryable is the preflight's check of canary-steps: nginx's
// evidence must be readable here, and the include template must render a
// canary (in server context only `set` lines may differ between the
// colors), found before any color is started.
func (r *run) refuseUncanaryable(context.Context) error {
	if !r.cfg.Canary.Enabled() || (r.cfg.Mode != config.ModeDeploy && r.cfg.Mode != config.ModePromote) {
		return nil
	}
	var problems []string
	if r.d.Evidence == nil {
		problems = append(problems, "canary-steps: this target cannot read nginx's evidence, which the steps are judged on")
	}
	if r.tmpl != nil {
		old := r.templateData(r.plans[color.Blue], compose.Container{})
		next := r.templateData(r.plans[color.Green], compose.Container{})
		old.DeployID, next.DeployID = "preflight-old", "preflight-new"
		c := nginx.Canary{Old: old, New: next, Percent: r.cfg.Canary.Steps[0], Name: r.cfg.ProjectName, Evidence: &nginx.EvidenceLog{Path: "/preflight.evidence"}}
		if _, err := r.tmpl.RenderCanary(c); err != nil {
			problems = append(problems, fmt.Sprintf("canary-steps: nginx-include-template cannot send a share of requests to the new color: %v (see docs/nginx.md, Canary)", err))
		}
	}
	if len(problems) > 0 {
		return &config.ValidationError{Problems: problems}
	}
	return nil
}

// settleLeftoverCanary puts every request back on the old color when the
// include is a canary step that a killed deploy left (a cancelled one puts
// it back itself): whatever this run does next, it starts from a full
// switch to the color that held the traffic, so that a failure of this
// run leaves no share on a color it removes.
func (r *run) settleLeftoverCanary(ctx context.Context) error {
	if r.cfg.Mode.ReadOnly() {
		return nil
	}
	m, found, err := nginx.ReadMarker(r.live.Include)
	if err != nil || !found || m.Canary == color.None || m.Color == color.None {
		return nil
	}
	p := r.plans[m.Color]
	traffic := findService(r.live.Running[m.Color], p.Service)
	data := r.templateData(p, traffic)
	data.DeployID = m.DeployID
	servers, err := r.servers(ctx, p, traffic)
	if err != nil {
		return err
	}
	data.Servers = r.serverData(p, servers)
	next, err := r.tmpl.Render(data)
	if err != nil {
		return fmt.Errorf("failed to render %s's include: %w", m.Color, err)
	}
	r.d.Report.Warnf("nginx serves a canary step that an interrupted deploy left (%s); putting every request back on %s first", m, m.Color)
	if err := r.withNginx(ctx, func() error { _, err := r.d.Nginx.Switch(ctx, next); return err }); err != nil {
		return fmt.Errorf("failed to put every request back on %s from the canary an interrupted deploy left: %w", m.Color, err)
	}
	r.live.Include, r.live.IncludeExists = next, true
	return nil
}

// afterCanary ends a canary at the full switch that follows it: err is
// the switch's. A failed switch restores the include it replaced, which
// is the last step's, so every request is then put back on the old color
// before the new one is removed. Either way the evidence log goes. A run
// without canary steps passes err on.
func (r *run) afterCanary(ctx context.Context, p *plan, traffic compose.Container, err error) error {
	if len(r.res.Canary) == 0 || r.d.Evidence == nil {
		return err
	}
	if err != nil {
		err = r.canaryBack(ctx, p, traffic, err)
	}
	r.d.Evidence.Remove()
	return err
}

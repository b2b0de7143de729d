package deploy

// Moving traffic: the nginx switch, the observation window after it, the
// drain and the stop of the old color.

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
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// switchNginx makes nginx serve the new color: the switch prepared while
// the color was probed (pr; nil prepares it now) is written, reloaded and
// confirmed through the front door, holding the host's nginx lock. Any
// failure puts the previous include back, and the error says what nginx
// serves as checked afterwards.
func (r *run) switchNginx(ctx context.Context, p *plan, traffic compose.Container, pr *preparing) (*nginx.Reload, error) {
	if pr == nil {
		pr = r.prepareSwitch(ctx, p, traffic)
	}
	ready, err := pr.wait()
	if err != nil {
		return nil, err
	}
	for _, w := range ready.warnings {
		r.d.Report.Warnf("%s", w)
	}
	r.d.Report.Infof("writing %s:\n%s", r.cfg.Nginx.IncludePath, indent(string(ready.next)))
	if ready.prep.Validated {
		r.d.Report.Infof("    the new include passed nginx -t on a candidate copy while %s was probed (%s)", p.Color, ready.prep.Took.Round(time.Millisecond))
	}
	var reload *nginx.Reload
	err = r.withNginx(ctx, func() error {
		var err error
		if reload, err = r.d.Nginx.Commit(ctx, ready.prep); err != nil {
			return err
		}
		if err := r.confirmFrontDoor(ctx, ready.next); err != nil {
			uerr := r.unswitch(ctx)
			cctx, cancel := r.cleanupContext(ctx, 0)
			defer cancel()
			serving := r.d.Nginx.CheckServing(cctx)
			if uerr != nil {
				return &checkedError{err: fmt.Errorf("%w; putting the previous include back failed too: %w", err, uerr), serving: serving}
			}
			return &checkedError{err: fmt.Errorf("%w; the previous include was put back", err), serving: serving}
		}
		return nil
	})
	return reload, err
}

// checkedError is a failed switch with what nginx serves, checked after
// the previous include was put back (or was not).
type checkedError struct {
	err     error
	serving nginx.Serving
}

func (e *checkedError) Error() string { return e.err.Error() + "; checked: " + e.serving.String() }
func (e *checkedError) Unwrap() error { return e.err }

// checkedServing is what nginx serves as checked after a failed switch,
// when the failure carries it.
func checkedServing(err error) (nginx.Serving, bool) {
	var se *nginx.SwitchError
	if errors.As(err, &se) {
		return se.Serving, true
	}
	var ce *checkedError
	if errors.As(err, &ce) {
		return ce.serving, true
	}
	return nginx.Serving{}, false
}

// ready is a switch made ready: the include and the prepared switch.
type ready struct {
	next     []byte
	prep     *nginx.Prepared
	warnings []string
}

// preparing is a switch being made ready while the new color is probed.
type preparing struct {
	done   chan struct{}
	cancel context.CancelFunc
	ready  ready
	err    error
}

// prepareSwitch renders the new color's include and prepares the switch
// (nginx -t on a candidate copy of the config) in the background, so that
// once the color is healthy the switch is only write, reload and confirm.
// Nothing live is touched.
func (r *run) prepareSwitch(ctx context.Context, p *plan, traffic compose.Container) *preparing {
	ctx, cancel := context.WithCancel(ctx)
	pr := &preparing{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(pr.done)
		next, warnings, err := r.renderInclude(ctx, p, traffic)
		if err != nil {
			pr.err = err
			return
		}
		prep, err := r.d.Nginx.Prepare(ctx, next)
		if err != nil {
			pr.err = fmt.Errorf("%w; nothing was changed: the live include was never touched", err)
			return
		}
		pr.ready = ready{next: next, prep: prep, warnings: warnings}
	}()
	return pr
}

// wait returns the prepared switch once it is ready.
func (pr *preparing) wait() (ready, error) {
	<-pr.done
	pr.cancel()
	return pr.ready, pr.err
}

// stop abandons a preparation (the color failed its health check).
func (pr *preparing) stop() {
	if pr == nil {
		return
	}
	pr.cancel()
	<-pr.done
}

// renderInclude renders the include for the new color, with warnings to
// show at the switch.
func (r *run) renderInclude(ctx context.Context, p *plan, traffic compose.Container) ([]byte, []string, error) {
	data := r.templateData(p, traffic)
	servers, err := r.servers(ctx, p, traffic)
	if err != nil {
		return nil, nil, err
	}
	data.Servers = r.serverData(p, servers)
	var warnings []string
	if _, shared := nginx.UpstreamIP(traffic.IPs, r.d.NginxNetworks); len(r.d.NginxNetworks) > 0 && !shared {
		warnings = append(warnings, fmt.Sprintf("%s shares no network with the nginx container (on %s), so nginx cannot reach its {{.ContainerName}} or {{.ContainerIP}}; "+
			"attach service %s to %s (networks: with external: true)", traffic.Name, strings.Join(r.d.NginxNetworks, ", "), p.Service, r.d.NginxNetworks[0]))
	}
	next, err := r.tmpl.Render(data)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to render nginx-include-template: %w", err)
	}
	return next, warnings, nil
}

// unswitch puts the include nginx served before this deploy back.
func (r *run) unswitch(ctx context.Context) error {
	ctx, cancel := r.cleanupContext(ctx, 0)
	defer cancel()
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
		MarkerAllow:   r.d.MarkerAllow,
	}
	if traffic.Name != "" {
		d.ContainerName = traffic.Name
	}
	d.ContainerIP, _ = nginx.UpstreamIP(traffic.IPs, r.d.NginxNetworks)
	return d
}

// drain waits until nginx's workers from before reload have exited
// and no connection to c's upstream remains, capped by drain-timeout.
func (r *run) drain(ctx context.Context, reload *nginx.Reload, c color.Color) error {
	upstream := ""
	if c != color.None {
		upstream = net.JoinHostPort(r.cfg.UpstreamHost, strconv.Itoa(r.plans[c].HostPort))
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

// stopOld stops the color nginx no longer serves. It runs on when the
// deploy is cancelled after the switch (the switch is done; the old color
// is the leftover), bounded by its containers' stop grace and the
// clean-up timeout.
func (r *run) stopOld(ctx context.Context, old color.Color, keep bool) error {
	var timeout *time.Duration
	grace := r.plans[old].StopGrace()
	if r.cfg.StopTimeout > 0 {
		timeout = &r.cfg.StopTimeout
		grace = r.cfg.StopTimeout
	}
	ctx, cancel := r.cleanupContext(ctx, grace)
	defer cancel()
	project := r.cfg.ProjectFor(old)
	if keep {
		r.d.Report.Infof("stopping %s, keeping its containers for mode: rollback", project)
		return r.d.Engine.Stop(ctx, project, timeout)
	}
	// Its networks stay for its next deploy (see compose.Engine.Remove).
	return r.d.Engine.Remove(ctx, project, timeout)
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
		if err := r.probeOnce(ctx, p); err != nil {
			// A container that just died explains the failed probe better
			// than the probe does; give Docker a moment to notice the exit.
			if serr := sleep(ctx, r.d.pollEvery()+100*time.Millisecond); serr != nil {
				return serr
			}
			if werr := r.watchContainer(ctx, traffic); werr != nil {
				return werr
			}
			return err
		}
		probes++
		if time.Now().After(deadline) {
			r.d.Report.Infof("    %s stayed healthy for %s (%d probes)", r.target, r.cfg.Observe, probes)
			return nil
		}
		if err := sleep(ctx, min(h.Interval, time.Until(deadline))); err != nil {
			return err
		}
	}
}

// sleep waits for d or until ctx ends, returning ctx's cause then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

package deploy

// Moving traffic: the nginx switch, the observation window after it, the
// drain and the stop of the old color.

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// switchNginx renders the include for the new color and hands it to the
// checked switch, which restores the old include on any failure.
func (r *run) switchNginx(ctx context.Context, p *plan, traffic compose.Container) (*nginx.Reload, error) {
	data := r.templateData(p, traffic)
	servers, err := r.servers(ctx, p, traffic)
	if err != nil {
		return nil, err
	}
	data.Servers = r.serverData(p, servers)
	if _, shared := nginx.UpstreamIP(traffic.IPs, r.d.NginxNetworks); len(r.d.NginxNetworks) > 0 && !shared {
		r.d.Report.Warnf("%s shares no network with the nginx container (on %s), so nginx cannot reach its {{.ContainerName}} or {{.ContainerIP}}; "+
			"attach service %s to %s (networks: with external: true)", traffic.Name, strings.Join(r.d.NginxNetworks, ", "), p.Service, r.d.NginxNetworks[0])
	}
	next, err := r.tmpl.Render(data)
	if err != nil {
		return nil, fmt.Errorf("failed to render nginx-include-template: %w", err)
	}
	r.d.Report.Infof("writing %s:\n%s", r.cfg.Nginx.IncludePath, indent(string(next)))
	reload, err := r.d.Nginx.Switch(ctx, next)
	if err != nil {
		return nil, err
	}
	if err := r.confirmFrontDoor(ctx, next); err != nil {
		if uerr := r.unswitch(ctx); uerr != nil {
			return nil, fmt.Errorf("%w; putting the previous include back ALSO failed: %w", err, uerr)
		}
		return nil, fmt.Errorf("%w; the previous include was put back", err)
	}
	return reload, nil
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

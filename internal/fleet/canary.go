package fleet

// fleet-canary (issue 20): the first N hosts deploy as a wave of their
// own; the rollout then holds them for canary-interval and judges them
// before the other hosts start. Each canary host's own deploy already
// judged its new color (its health check and, with canary-steps, nginx's
// evidence on that host); the hold watches that the version keeps
// serving there for the interval: a status run on each canary host must
// find the color its deploy switched to still live, with its containers
// running. A failed judgement fails the rollout like a failed host: the
// switched hosts go back (fleet-failure rollback) or keep the new version
// (stop), and the other hosts are not started.

import (
	"fmt"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// canaryWaves splits the hosts into the canary wave and the rest when
// fleet-canary asks for it (a deploy only).
func (r *rollout) canaryWaves() [][]*HostOutcome {
	n := r.opts.CanaryHosts
	if n <= 0 || n >= len(r.out.Hosts) || r.opts.Mode != config.ModeDeploy {
		return [][]*HostOutcome{r.out.Hosts}
	}
	return [][]*HostOutcome{r.out.Hosts[:n], r.out.Hosts[n:]}
}

// holdCanary holds the canary wave for CanaryHold, then judges each of
// its deployed hosts. It reports whether the rollout goes on.
func (r *rollout) holdCanary(wave []*HostOutcome) bool {
	var names []string
	for _, h := range wave {
		if r.status(h) == StatusDeployed {
			names = append(names, h.Host.Name)
		}
	}
	if len(names) == 0 {
		return true // every canary host was already on the image
	}
	end := r.phase(fmt.Sprintf("Hold the canary hosts %s for %s (fleet-canary)", strings.Join(names, ", "), r.opts.CanaryHold))
	defer end()
	select {
	case <-r.ctx.Done():
		return false
	case <-r.clock.after(r.opts.CanaryHold):
	}
	for _, h := range wave {
		if r.status(h) != StatusDeployed {
			continue
		}
		if err := r.judgeCanary(h); err != nil {
			r.mu.Lock()
			h.CanaryErr = err
			r.mu.Unlock()
			r.rep.Warnf("%s: %v", h.Host.Name, err)
			r.noteFailure(h)
			return false
		}
		r.rep.Infof("%s: still serves %s after %s", h.Host.Name, h.Result.Active, r.opts.CanaryHold)
	}
	return r.ctx.Err() == nil
}

// judgeCanary reads h's state after the hold: its deploy's color must
// still serve, with its containers running.
func (r *rollout) judgeCanary(h *HostOutcome) error {
	res, err := r.touch(r.ctx, h, config.ModeStatus, "judge canary host "+h.Host.Name)
	switch {
	case err != nil:
		return fmt.Errorf("could not be read after the fleet-canary hold: %w", err)
	case res.Failure != nil:
		return fmt.Errorf("could not be read after the fleet-canary hold: %s", res.Failure.Cause)
	case res.Active != h.Result.Active:
		return fmt.Errorf("serves %s instead of %s after the fleet-canary hold of %s", orNone(res.Active), h.Result.Active, r.opts.CanaryHold)
	case len(res.Running) == 0:
		return fmt.Errorf("its %s has no running container after the fleet-canary hold of %s", h.Result.Active, r.opts.CanaryHold)
	}
	return nil
}

// canaryFailure is a failed judgement as the host's failure.
func canaryFailure(err error) *Failure {
	return &Failure{Phase: "Hold after fleet-canary", Cause: err.Error()}
}

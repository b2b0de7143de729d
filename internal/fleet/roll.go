package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// onImage reports whether h's live color already runs the image: only a
// deploy skips such a host (a rollback must still go back).
func (r *rollout) onImage(h *HostOutcome) bool {
	if r.opts.Mode != config.ModeDeploy || r.opts.Image == "" || h.Before == nil || h.Before.Active == "" {
		return false
	}
	return slices.Contains(h.Before.Running, r.opts.Image)
}

// stopsOthers reports whether a host's failure stops the hosts still
// running: always in mode rollback (a fleet half rolled back is to be
// looked at, not rolled on), and in a deploy when fleet-failure is
// rollback (they would be returned anyway).
func (r *rollout) stopsOthers() bool {
	return r.opts.Failure == config.FleetRollback || r.opts.Mode != config.ModeDeploy
}

// firstFailed returns the first host whose own run failed, or nil.
func (r *rollout) firstFailed() *HostOutcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// roll runs the mode on the wave's hosts in their order, MaxParallel at a
// time, until all are done, one fails or the rollout is cancelled. It
// reports whether the rollout goes on after the wave.
func (r *rollout) roll(wave []*HostOutcome) bool {
	runCtx, stopRuns := context.WithCancelCause(r.ctx)
	defer stopRuns(nil)
	r.mu.Lock()
	r.stopRuns = stopRuns
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.stopRuns = nil
		r.mu.Unlock()
	}()
	sem := make(chan struct{}, r.opts.MaxParallel)
	var wg sync.WaitGroup
	for _, h := range wave {
		if r.onImage(h) {
			r.move(h, StatusSkipped)
			r.rep.Infof("%s: skipped, its live color %s already runs %s", h.Host.Name, h.Before.Active, r.opts.Image)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-runCtx.Done():
		}
		if r.firstFailed() != nil || runCtx.Err() != nil {
			break
		}
		// The first host to start runs the rollout's jobs; the others
		// start once they have settled (jobs.go).
		if !r.awaitJobs(runCtx, h) {
			break
		}
		r.move(h, StatusDeploying)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r.runHost(runCtx, h)
		}()
	}
	wg.Wait()
	return r.firstFailed() == nil && r.ctx.Err() == nil
}

// runHost runs the mode on one host and moves it to what came of it.
func (r *rollout) runHost(runCtx context.Context, h *HostOutcome) {
	if h == r.jobs.host {
		// Last, once its failure is noted: the hosts waiting for its
		// jobs then see it and do not start.
		defer r.jobs.settle()
	}
	i, n := slices.Index(r.out.Hosts, h)+1, len(r.out.Hosts)
	what := fmt.Sprintf("%s %s (%d of %d)", verb(r.opts.Mode), h.Host.Name, i, n)
	end := func() {}
	if r.opts.MaxParallel == 1 {
		end = r.rep.Phase(what)
	} else {
		r.rep.Infof("%s: %s started (%d of %d)", h.Host.Name, verb(r.opts.Mode), i, n)
	}
	if err := r.hold(runCtx, h); err != nil {
		// Its lock was lost for good before its run: it was not touched.
		end()
		r.mu.Lock()
		if h.LockErr == nil {
			h.LockErr = err
		}
		r.mu.Unlock()
		r.move(h, StatusFailed)
		r.noteFailure(h)
		return
	}
	res, err := r.touch(runCtx, h, r.opts.Mode, strings.ToLower(what[:1])+what[1:])
	end()
	r.mu.Lock()
	if err != nil {
		h.RunErr = err
	} else {
		h.Result = &res
	}
	r.mu.Unlock()
	switch {
	case err == nil && !res.Failed():
		r.move(h, StatusDeployed)
		r.rep.Infof("%s: %s in %s (%s → %s)", h.Host.Name, done(r.opts.Mode), res.Elapsed().Round(time.Millisecond), orNone(res.Previous), orNone(res.Active))
	case runCtx.Err() != nil:
		// Stopped by another host's failure or by the cancellation.
		r.move(h, StatusStopped)
	default:
		r.move(h, StatusFailed)
		r.noteFailure(h)
	}
}

package fleet

// Jobs once per rollout (issue 17): a job (a service another waits for
// with condition service_completed_successfully, a migration) acts on
// what every host shares, the database, so it runs once, on the first
// host that deploys, before any other host starts its color. The other
// hosts leave it out, and each says in its log where it ran.

import (
	"context"
	"sync"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
)

// jobGate holds the other hosts of a rollout until the host that runs the
// jobs has settled them.
type jobGate struct {
	// host runs the rollout's jobs: the first host that starts, nil
	// before. Only the rolling loop sets it.
	host *HostOutcome
	// settled is closed once host's jobs have all exited 0 (it had none
	// to run), or its run ended, whatever came of it.
	settled chan struct{}
	once    sync.Once
}

func newJobGate() *jobGate { return &jobGate{settled: make(chan struct{})} }

func (g *jobGate) settle() { g.once.Do(func() { close(g.settled) }) }

// startsColors reports whether the rollout's mode starts a new color from
// the compose files, with its jobs: deploy and stage. A rollback starts a
// kept color, whose jobs ran when it was deployed (see jobsOf); promote,
// abort and status start none.
func startsColors(m config.Mode) bool { return m == config.ModeDeploy || m == config.ModeStage }

// jobsOf is what h's run in mode does with the jobs. In deploy and stage,
// the host that runs the jobs says when they have settled and the others
// leave them out, told where they ran; a rollback (mode rollback, or the
// fleet's return of a switched host) leaves them out on every host: the
// version it returns to ran its jobs when it was deployed, and the
// database has moved on since.
func (r *rollout) jobsOf(h *HostOutcome, mode config.Mode) deploy.Jobs {
	switch {
	case mode == config.ModeRollback:
		return deploy.Jobs{Skip: true}
	case mode != r.opts.Mode || !startsColors(mode) || r.jobs.host == nil:
		return deploy.Jobs{}
	case r.jobs.host == h:
		return deploy.Jobs{Settled: r.jobs.settle}
	}
	return deploy.Jobs{Skip: true, RanOn: r.jobs.host.Host.Name}
}

// awaitJobs is called by the rolling loop before it starts h. The first
// host to start runs the rollout's jobs; any later one waits until they
// have settled. It reports whether h may start: not when the jobs' host
// failed (its jobs, or anything else before they settled) or the runs
// were stopped meanwhile.
func (r *rollout) awaitJobs(ctx context.Context, h *HostOutcome) bool {
	if !startsColors(r.opts.Mode) {
		return true
	}
	if r.jobs.host == nil {
		r.jobs.host = h
		return true
	}
	select {
	case <-r.jobs.settled:
	default:
		r.rep.Infof("%s: waiting for %s to run the jobs first, if the compose file has any (a job runs once per rollout)", h.Host.Name, r.jobs.host.Host.Name)
		select {
		case <-r.jobs.settled:
		case <-ctx.Done():
		}
	}
	return r.firstFailed() == nil && ctx.Err() == nil
}

// jobsSettledPayload is what a helper's JobsSettledLine says.
const jobsSettledPayload = "jobs settled"

// JobsSettledLine is the line a helper prints (no newline) when its
// deploy's jobs have settled (deploy.Jobs.Settled), if the runner asked
// for it: a hosthelper.TokenLine, which nothing else the helper prints can
// pass for.
func JobsSettledLine(token string) string { return hosthelper.TokenLine(token, jobsSettledPayload) }

// isJobsSettledLine reports whether line is JobsSettledLine(token).
func isJobsSettledLine(token, line string) bool {
	payload, ok := hosthelper.CutTokenLine(token, line)
	return ok && payload == jobsSettledPayload
}

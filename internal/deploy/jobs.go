package deploy

// Jobs on a fleet (issue 17): a job (a migration) runs once per rollout,
// on the first host, before any other host starts its color; the other
// hosts leave it out.

import (
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/compose"
)

// Jobs says how a deploy runs the compose file's jobs. The zero value runs
// them, as a deploy on one host always does.
type Jobs struct {
	// Skip leaves every job out of the new color (and out of what its
	// singletons wait for): the services that wait for a job start as if
	// it had completed. The log says so once for each job. A fleet sets
	// it on every host but the one that runs the rollout's jobs, and on
	// every host of a rollback.
	Skip bool
	// RanOn, with Skip, names the host that ran the jobs in this rollout
	// (the fleet's first); empty in a rollback, whose version ran its
	// jobs when it was deployed.
	RanOn string
	// Settled, when set, is called once, as soon as the deploy knows that
	// no job will fail it: when the new color's jobs have all exited 0, or
	// after the preflight when neither color has a job. A fleet starts its
	// other hosts then. It is not called when a job fails, nor when the
	// deploy never starts a color.
	Settled func()
}

// jobsSettled calls Jobs.Settled, once.
func (r *run) jobsSettled() {
	if r.settled || r.d.Jobs.Settled == nil {
		return
	}
	r.settled = true
	r.d.Jobs.Settled()
}

// hasJobs reports whether either color's compose files have a job.
func (r *run) hasJobs() bool {
	for _, p := range r.plans {
		if p != nil && len(p.Roles.Services(compose.Job)) > 0 {
			return true
		}
	}
	return false
}

// leaveJobsOut, when the deploy skips its jobs, takes them out of the new
// color (and out of what its singletons wait for) and says so once for
// each job. A job that ran on another host and waits for a shared service
// is warned about: that service runs once per host, so this host's copy
// did not get the job (a migration of a database each host runs for
// itself).
func (r *run) leaveJobsOut(p *plan) error {
	jobs := p.Roles.Services(compose.Job)
	if !r.d.Jobs.Skip || len(jobs) == 0 {
		return nil
	}
	for _, job := range jobs {
		if r.d.Jobs.RanOn == "" {
			r.d.Report.Infof("job %s is not run: a rollback on a fleet runs no job, since the version it returns to ran its jobs when it was deployed", job)
			continue
		}
		r.d.Report.Infof("job %s is not run on this host: it ran on %s in this rollout; the services that wait for it start as if it had completed", job, r.d.Jobs.RanOn)
		var shared []string
		for dep := range p.Project.Services[job].DependsOn {
			if p.Roles.Of(dep) == compose.Shared {
				shared = append(shared, dep)
			}
		}
		if len(shared) > 0 {
			sort.Strings(shared)
			r.d.Report.Warnf("job %s waits for the shared service %s, which runs once per host, but with hosts the job runs once per rollout, on %s only: this host's %s did not get it. Run such a database once, where every host reaches it, rather than as a shared service on each host",
				job, strings.Join(shared, ", "), r.d.Jobs.RanOn, strings.Join(shared, ", "))
		}
	}
	for _, part := range []**types.Project{&p.Project, &p.Singletons} {
		if *part == nil {
			continue
		}
		q, err := compose.WithoutJobs(*part, p.Roles)
		if err != nil {
			return err
		}
		*part = q
	}
	return nil
}

package deploy

// Jobs on a fleet (issue 17): a job (a migration) runs once per rollout,
// on the first host, before any other host starts its color; the other
// hosts leave it out.

import (
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/compose"
)

// Jobs says how a deploy runs the compose file's jobs. The zero value runs
// them, as a deploy on one host always does.
type Jobs struct {
	// SkipBecause, when set, leaves every job out of the new color and
	// says why in the log ("it ran on deploy@10.0.1.11:22 in this
	// rollout"): the services that wait for a job start as if it had
	// completed. A fleet sets it on every host but the one that runs the
	// rollout's jobs.
	SkipBecause string
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
// each job.
func (r *run) leaveJobsOut(p *plan) error {
	why := r.d.Jobs.SkipBecause
	jobs := p.Roles.Services(compose.Job)
	if why == "" || len(jobs) == 0 {
		return nil
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
	for _, job := range jobs {
		r.d.Report.Infof("job %s is not run on this host: %s; the services that wait for it start as if it had completed", job, why)
	}
	return nil
}

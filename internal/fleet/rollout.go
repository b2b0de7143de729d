package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// Options shape a rollout.
type Options struct {
	// Mode is what each host does: deploy, rollback or status.
	Mode config.Mode
	// MaxParallel is how many hosts deploy at once (default 1).
	MaxParallel int
	// Failure is what a failed host does to the hosts already switched.
	Failure config.FleetFailure
	// Image, when set, is the image the deploy puts in service: a host
	// whose live color already runs it is skipped, so that running a
	// failed workflow again resumes where it stopped.
	Image string
	// UndoTimeout bounds the rollback of the switched hosts after a
	// failure or a cancellation (default DefaultUndoTimeout). It runs on
	// when the rollout was cancelled: leaving half a fleet switched is
	// worse.
	UndoTimeout time.Duration
	// RetryWindow bounds how long a call that met a transient error (the
	// host's daemon restarting, a dropped connection) is tried again
	// (default DefaultRetryWindow).
	RetryWindow time.Duration
	// CanaryHosts deploy first, as a wave of their own, and are held for
	// CanaryHold and judged before the others start (fleet-canary).
	CanaryHosts int
	CanaryHold  time.Duration
	Report      Reporter

	// clock is real time unless a test sets it.
	clock *clock
}

// DefaultUndoTimeout bounds the rollback of the switched hosts: a
// rollback starts stopped containers and switches nginx, seconds per host.
const DefaultUndoTimeout = 5 * time.Minute

// HostOutcome is what happened on one host.
type HostOutcome struct {
	Host     Host
	DaemonID string
	// Before is the host's state when the rollout took its lock (a status
	// run); nil if it was not reached.
	Before *HostResult
	// Result is this rollout's deploy on the host, nil if none ran or none
	// came back (RunErr).
	Result *HostResult
	RunErr error
	// Undo is the rollback the fleet ran on the host after another host
	// failed or the rollout was cancelled.
	Undo    *HostResult
	UndoErr error
	// LockErr says why the host's fleet lock ended during the rollout
	// and could not be taken again.
	LockErr error
	// CanaryErr is why the host failed the fleet-canary judgement.
	CanaryErr error
	Status    Status
	// trail is every status the host went through after not started.
	trail []Status
}

// Outcome is a whole rollout.
type Outcome struct {
	Mode    config.Mode
	Hosts   []*HostOutcome
	Started time.Time
	Elapsed time.Duration
	// Err is nil when every host deployed (or was skipped); else an
	// *Error.
	Err error
	// Refused lists the status changes the transitions table refused:
	// bugs, said as warnings when they happened; empty in a sound run.
	Refused []string
}

// rollout is one run of Rollout.
type rollout struct {
	ctx   context.Context
	drv   Driver
	opts  Options
	rep   Reporter
	out   *Outcome
	clock clock
	// mu guards every host's status and results, failed, stopRuns and
	// keepers.
	mu sync.Mutex
	// failed is the first host whose own run failed, or whose lock was
	// lost for good.
	failed *HostOutcome
	// stopRuns stops the runs under way, while hosts roll.
	stopRuns context.CancelCauseFunc
	// keepers hold each host's fleet lock (none in mode status).
	keepers map[*HostOutcome]*keeper
	// jobs holds the other hosts until the first one's jobs have
	// settled (jobs.go).
	jobs *jobGate
}

// Rollout runs the deploy on every host: it reaches every host first (a
// host that cannot be reached fails the whole fleet before anything is
// touched), takes each host's fleet lock in daemon-id order, reads each
// host's live state, then deploys host after host (MaxParallel at a
// time), skipping hosts already on the image. When a host fails it starts
// no more hosts and, with fleet-failure rollback, stops the ones still
// deploying and returns the switched ones to their previous color; a
// cancellation of ctx does the same whatever fleet-failure says.
func Rollout(ctx context.Context, hosts []Host, drv Driver, opts Options) *Outcome {
	if opts.MaxParallel < 1 {
		opts.MaxParallel = 1
	}
	if opts.UndoTimeout <= 0 {
		opts.UndoTimeout = DefaultUndoTimeout
	}
	if opts.Mode == "" {
		opts.Mode = config.ModeDeploy
	}
	if opts.Failure == "" {
		opts.Failure = config.FleetRollback
	}
	if opts.RetryWindow <= 0 {
		opts.RetryWindow = DefaultRetryWindow
	}
	r := &rollout{ctx: ctx, drv: drv, opts: opts, rep: opts.Report, clock: realClock, out: &Outcome{Mode: opts.Mode, Started: time.Now()}, jobs: newJobGate()}
	if opts.clock != nil {
		r.clock = *opts.clock
	}
	for _, h := range hosts {
		r.out.Hosts = append(r.out.Hosts, &HostOutcome{Host: h, Status: StatusNotStarted})
	}
	r.out.Err = r.run()
	r.out.Elapsed = time.Since(r.out.Started)
	return r.out
}

// run is the rollout's steps in order. Nothing is touched before every
// host is reached, locked and read.
func (r *rollout) run() error {
	if err := r.connect(); err != nil {
		return err
	}
	if r.opts.Mode != config.ModeStatus {
		release, err := r.lockAll()
		if err != nil {
			return err
		}
		defer release()
	}
	if err := r.readState(); err != nil {
		return err
	}
	if r.opts.Mode == config.ModeStatus {
		for _, h := range r.out.Hosts {
			r.move(h, StatusLive)
		}
		return nil
	}
	// A job (a migration, issue 17) runs once, on the first host that
	// deploys, before any other host starts its color; when it fails the
	// other hosts are still not started (see awaitJobs).
	waves := r.waves()
	for i, wave := range waves {
		if !r.roll(wave) {
			break
		}
		// A canary wave (issue 20) is held and judged before the next
		// wave starts; a failed judgement fails the rollout like a
		// failed host.
		if i < len(waves)-1 && !r.holdCanary(wave) {
			break
		}
	}
	return r.finish()
}

// waves splits the hosts into the groups that deploy one after the
// other, in the hosts input's order: all of them, or with fleet-canary: N
// the first N, then the rest (canaryWaves).
func (r *rollout) waves() [][]*HostOutcome {
	return r.canaryWaves()
}

// phase opens a log group for a step of the rollout; the returned
// function closes it and says how long the step took.
func (r *rollout) phase(name string) func() {
	end := r.rep.Phase(name)
	start := time.Now()
	return func() {
		end()
		r.rep.Infof("    %s took %s", name, time.Since(start).Round(time.Millisecond))
	}
}

func verb(m config.Mode) string {
	switch m {
	case config.ModeRollback:
		return "Roll back"
	case config.ModeStatus:
		return "Status of"
	default:
		return "Deploy to"
	}
}

func done(m config.Mode) string {
	if m == config.ModeRollback {
		return "rolled back"
	}
	return "deployed"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// noteFailure makes h the rollout's failure unless another host failed
// first, and stops the runs under way when a failure does that.
func (r *rollout) noteFailure(h *HostOutcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed == nil {
		r.failed = h
	}
	if r.stopRuns != nil && r.stopsOthers() {
		r.stopRuns(fmt.Errorf("%w: %s", ErrAnotherHostFailed, h.Host.Name))
	}
}

// touch runs mode on h once h's fleet lock is held. A run that met a
// transient error is made again within the retry window when it had not
// begun, or when it changes nothing (a status run); each try waits for
// the lock first, since a daemon that restarted ended it too. what names
// the run in messages ("read the live color of h2").
func (r *rollout) touch(ctx context.Context, h *HostOutcome, mode config.Mode, what string) (HostResult, error) {
	var res HostResult
	err := r.retry(ctx, what, mode == config.ModeStatus, func() error {
		if err := r.hold(ctx, h); err != nil {
			return err
		}
		var err error
		res, err = r.drv.Run(ctx, h.Host, mode, r.jobsOf(h, mode))
		return err
	})
	return res, err
}

// describe is a host's line in a list: its name, and in brackets what
// happened.
func describe(h *HostOutcome, what string) string {
	return fmt.Sprintf("%s (%s)", h.Host.Name, what)
}

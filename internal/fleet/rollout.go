package fleet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/report"
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
	Report      *report.Reporter
}

// DefaultUndoTimeout bounds the rollback of the switched hosts: a
// rollback starts stopped containers and switches nginx, seconds per host.
const DefaultUndoTimeout = 5 * time.Minute

// Status is what became of one host.
type Status string

// The statuses of a host, as hosts-result and the summary spell them.
const (
	StatusNotStarted Status = "not started"
	StatusSkipped    Status = "skipped"     // already on the image
	StatusDeployed   Status = "deployed"    // switched (or rolled back, in mode rollback) and kept
	StatusFailed     Status = "failed"      // its own deploy failed; it left itself on its previous color
	StatusStopped    Status = "stopped"     // stopped by another host's failure or a cancellation before it switched
	StatusRolledBack Status = "rolled back" // switched, then returned to its previous color by the fleet
	StatusUndoFailed Status = "rollback failed"
	StatusUnknown    Status = "unknown" // no result came back and its state could not be read
	StatusLive       Status = "live"    // mode status
)

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
	Status  Status
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
}

// Stage is where a rollout stopped.
type Stage string

// The stages of a rollout.
const (
	StagePreflight Stage = "preflight" // nothing was touched anywhere
	StageLock      Stage = "lock"      // nothing was touched anywhere
	StageDeploy    Stage = "deploy"
	StageCancel    Stage = "cancel"
)

// Error is a failed rollout: where it stopped, on which host, why, and
// what the fleet did about the other hosts.
type Error struct {
	Stage Stage
	// Host is the host that failed (empty for a cancellation).
	Host string
	// Phase is the failed phase's name on that host, if known.
	Phase string
	Cause string
	// Problems lists every host's problem in a preflight.
	Problems []string
	// Invalid marks input problems: exit code 2, nothing was touched.
	Invalid bool
	// Details are the lines after the cause: what the host undid, the
	// hosts returned to their previous color, those not started.
	Details []string
}

func (e *Error) Error() string {
	switch {
	case e.Stage == StagePreflight || e.Stage == StageLock:
		return fmt.Sprintf("fleet %s failed; nothing was changed on any host:\n  - %s", e.Stage, strings.Join(e.Problems, "\n  - "))
	case e.Stage == StageCancel:
		return "the rollout was cancelled: " + e.Cause
	case e.Phase != "":
		return fmt.Sprintf("%s failed in %s: %s", e.Host, e.Phase, e.Cause)
	default:
		return fmt.Sprintf("%s failed: %s", e.Host, e.Cause)
	}
}

// ErrAnotherHostFailed is why a host's deploy is stopped when another one
// fails and fleet-failure is rollback.
var ErrAnotherHostFailed = errors.New("another host of the fleet failed")

// rollout is one run of Rollout.
type rollout struct {
	ctx  context.Context
	drv  Driver
	opts Options
	rep  *report.Reporter
	out  *Outcome
	// failed is the first host whose own deploy failed.
	failed *HostOutcome
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
	r := &rollout{ctx: ctx, drv: drv, opts: opts, rep: opts.Report, out: &Outcome{Mode: opts.Mode, Started: time.Now()}}
	for _, h := range hosts {
		r.out.Hosts = append(r.out.Hosts, &HostOutcome{Host: h, Status: StatusNotStarted})
	}
	r.out.Err = r.run()
	r.out.Elapsed = time.Since(r.out.Started)
	return r.out
}

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
			h.Status = StatusLive
		}
		return nil
	}
	r.roll()
	return r.finish()
}

// connect reaches every host at once. Any host that cannot be reached, or
// two entries that are the same daemon, fail the fleet before anything is
// touched.
func (r *rollout) connect() error {
	defer r.phase(fmt.Sprintf("Reach %d hosts", len(r.out.Hosts)))()
	problems := make([]string, len(r.out.Hosts))
	var wg sync.WaitGroup
	for i, h := range r.out.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := r.drv.Connect(r.ctx, h.Host)
			if err != nil {
				problems[i] = fmt.Sprintf("%s: %v", h.Host.Name, err)
				return
			}
			h.DaemonID = id
		}()
	}
	wg.Wait()
	var list []string
	for _, p := range problems {
		if p != "" {
			list = append(list, p)
		}
	}
	byID := map[string]string{}
	for _, h := range r.out.Hosts {
		if h.DaemonID == "" {
			continue
		}
		if other, dup := byID[h.DaemonID]; dup {
			list = append(list, fmt.Sprintf("%s and %s are the same Docker daemon (%s): list each host once", other, h.Host.Name, h.DaemonID))
		}
		byID[h.DaemonID] = h.Host.Name
	}
	if len(list) > 0 {
		return &Error{Stage: StagePreflight, Problems: list, Cause: strings.Join(list, "; ")}
	}
	for _, h := range r.out.Hosts {
		r.rep.Infof("%s: Docker daemon %s reached, helper image present", h.Host.Name, h.DaemonID)
	}
	return nil
}

// lockAll takes every host's fleet lock before any host is touched.
//
// First all at once without waiting: with no other rollout about, that
// costs one helper start rather than one per host, and taking a lock
// without waiting never holds one lock while waiting for another, so it
// cannot deadlock. If any lock is busy (or fails), all are given back and
// taken again one by one, waiting, in the order of the daemons' ids: two
// rollouts over the same hosts, however their hosts inputs order or name
// them, then take the locks in the same order, so they never deadlock and
// never interleave hosts. The returned function gives them all back.
func (r *rollout) lockAll() (func(), error) {
	defer r.phase("Fleet lock")()
	if release, ok := r.tryLockAll(); ok {
		return release, nil
	}
	ordered := append([]*HostOutcome(nil), r.out.Hosts...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].DaemonID < ordered[j].DaemonID })
	var releases []func()
	releaseAll := func() {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
	}
	for _, h := range ordered {
		release, err := r.drv.Lock(r.ctx, h.Host, true)
		if err != nil {
			releaseAll()
			msg := fmt.Sprintf("%s: %v", h.Host.Name, err)
			return nil, &Error{Stage: StageLock, Host: h.Host.Name, Problems: []string{msg}, Cause: msg}
		}
		r.rep.Infof("%s: fleet lock taken", h.Host.Name)
		releases = append(releases, release)
	}
	return releaseAll, nil
}

// tryLockAll takes every lock at once without waiting; ok is false, with
// nothing held, when any of them could not be taken.
func (r *rollout) tryLockAll() (func(), bool) {
	releases := make([]func(), len(r.out.Hosts))
	errs := make([]error, len(r.out.Hosts))
	var wg sync.WaitGroup
	for i, h := range r.out.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			releases[i], errs[i] = r.drv.Lock(r.ctx, h.Host, false)
		}()
	}
	wg.Wait()
	releaseAll := func() {
		var wg sync.WaitGroup
		for _, rel := range releases {
			if rel != nil {
				wg.Add(1)
				go func() { defer wg.Done(); rel() }()
			}
		}
		wg.Wait()
	}
	for i, err := range errs {
		if err != nil {
			r.rep.Infof("%s: fleet lock busy (%v); giving back the others and taking each in turn", r.out.Hosts[i].Host.Name, err)
			releaseAll()
			return nil, false
		}
	}
	for _, h := range r.out.Hosts {
		r.rep.Infof("%s: fleet lock taken", h.Host.Name)
	}
	return releaseAll, true
}

// readState reads every host's live color and image with a status run,
// once the locks are held, so that no other rollout changes it between
// this reading and the deploy.
func (r *rollout) readState() error {
	defer r.phase("Read each host's live color")()
	problems := make([]string, len(r.out.Hosts))
	invalid := make([]bool, len(r.out.Hosts))
	var wg sync.WaitGroup
	for i, h := range r.out.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.drv.Run(r.ctx, h.Host, config.ModeStatus)
			switch {
			case err != nil:
				problems[i] = fmt.Sprintf("%s: %v", h.Host.Name, err)
			case res.Failed():
				problems[i] = fmt.Sprintf("%s: %s", h.Host.Name, res.Failure.Cause)
				invalid[i] = res.Failure.Invalid
			default:
				h.Before = &res
			}
		}()
	}
	wg.Wait()
	var list []string
	allInvalid := true
	for i, p := range problems {
		if p != "" {
			list = append(list, p)
			allInvalid = allInvalid && invalid[i]
		}
	}
	if len(list) > 0 {
		return &Error{Stage: StagePreflight, Problems: list, Cause: strings.Join(list, "; "), Invalid: allInvalid}
	}
	for _, h := range r.out.Hosts {
		r.rep.Infof("%s: live color %s, image %s", h.Host.Name, orNone(h.Before.Active), orNone(h.Before.Image))
	}
	return nil
}

// onImage reports whether h's live color already runs the image.
func (r *rollout) onImage(h *HostOutcome) bool {
	if r.opts.Mode != config.ModeDeploy || r.opts.Image == "" || h.Before == nil || h.Before.Active == "" {
		return false
	}
	for _, img := range h.Before.Running {
		if img == r.opts.Image {
			return true
		}
	}
	return false
}

// roll deploys host after host, MaxParallel at a time, until all are
// done, one fails or ctx is cancelled.
func (r *rollout) roll() {
	runCtx, stopRuns := context.WithCancelCause(r.ctx)
	defer stopRuns(nil)
	sem := make(chan struct{}, r.opts.MaxParallel)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stopped bool
	)
	n := len(r.out.Hosts)
	for i, h := range r.out.Hosts {
		if r.onImage(h) {
			h.Status = StatusSkipped
			r.rep.Infof("%s: skipped, its live color %s already runs %s", h.Host.Name, h.Before.Active, r.opts.Image)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-runCtx.Done():
		}
		mu.Lock()
		stop := stopped || runCtx.Err() != nil
		mu.Unlock()
		if stop {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var end func()
			if r.opts.MaxParallel == 1 {
				end = r.rep.Phase(fmt.Sprintf("%s %s (%d of %d)", verb(r.opts.Mode), h.Host.Name, i+1, n))
			} else {
				r.rep.Infof("%s: %s started (%d of %d)", h.Host.Name, verb(r.opts.Mode), i+1, n)
				end = func() {}
			}
			res, err := r.drv.Run(runCtx, h.Host, r.opts.Mode)
			end()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				h.RunErr = err
			} else {
				h.Result = &res
			}
			switch {
			case err == nil && !res.Failed():
				h.Status = StatusDeployed
				r.rep.Infof("%s: %s in %s (%s → %s)", h.Host.Name, done(r.opts.Mode), res.Elapsed().Round(time.Millisecond), orNone(res.Previous), orNone(res.Active))
				return
			case runCtx.Err() != nil:
				// Stopped by another host's failure or by the cancellation.
				h.Status = StatusStopped
			default:
				h.Status = StatusFailed
				if r.failed == nil {
					r.failed = h
				}
				stopped = true
				if r.opts.Failure == config.FleetRollback || r.opts.Mode != config.ModeDeploy {
					stopRuns(fmt.Errorf("%w: %s", ErrAnotherHostFailed, h.Host.Name))
				}
			}
		}()
	}
	wg.Wait()
}

// switched reports whether h serves another color than before this
// rollout. When no result came back, a status run finds out.
func (r *rollout) switched(ctx context.Context, h *HostOutcome) (bool, error) {
	if h.Before == nil {
		return false, nil
	}
	active := ""
	switch {
	case h.Result != nil:
		active = h.Result.Active
	case h.RunErr != nil:
		st, err := r.drv.Run(ctx, h.Host, config.ModeStatus)
		if err != nil {
			return false, err
		}
		if st.Failed() {
			return false, errors.New(st.Failure.Cause)
		}
		active = st.Active
	default:
		return false, nil
	}
	return active != "" && active != h.Before.Active, nil
}

// finish decides what the rollout's end means: all done, or a failure or
// cancellation after which the switched hosts go back (unless
// fleet-failure is stop and nothing was cancelled).
func (r *rollout) finish() error {
	cancelled := r.ctx.Err() != nil
	if r.failed == nil && !cancelled {
		return nil
	}
	undo := r.opts.Mode == config.ModeDeploy && (cancelled || r.opts.Failure == config.FleetRollback)
	var details []string
	if r.failed != nil {
		if f := r.failed.failure(); f != nil && f.Undone != "" {
			details = append(details, fmt.Sprintf("On %s: %s", r.failed.Host.Name, f.Undone))
		}
	}
	if undo {
		details = append(details, r.undo()...)
	} else {
		var kept []string
		for _, h := range r.out.Hosts {
			if h.Status == StatusDeployed {
				kept = append(kept, h.Host.Name)
			}
		}
		if len(kept) > 0 {
			details = append(details, fmt.Sprintf("fleet-failure is stop: %s keep the new version.", strings.Join(kept, ", ")))
		}
	}
	var notStarted []string
	for _, h := range r.out.Hosts {
		if h.Status == StatusNotStarted {
			notStarted = append(notStarted, h.Host.Name)
		}
	}
	if len(notStarted) > 0 {
		details = append(details, fmt.Sprintf("Not started: %s.", strings.Join(notStarted, ", ")))
	}
	if r.failed == nil {
		return &Error{Stage: StageCancel, Cause: fmt.Sprint(context.Cause(r.ctx)), Details: details}
	}
	e := &Error{Stage: StageDeploy, Host: r.failed.Host.Name, Details: details}
	if f := r.failed.failure(); f != nil {
		e.Phase, e.Cause, e.Invalid = f.Phase, f.Cause, f.Invalid
		if f.Hint != "" {
			e.Details = append([]string{f.Hint}, e.Details...)
		}
	} else {
		e.Cause = fmt.Sprint(r.failed.RunErr)
	}
	return e
}

// failure is the host's own failure, from its result or its run error.
func (h *HostOutcome) failure() *Failure {
	if h.Result != nil && h.Result.Failure != nil {
		return h.Result.Failure
	}
	if h.RunErr != nil {
		return &Failure{Cause: h.RunErr.Error()}
	}
	return nil
}

// undo returns every switched host to its previous color, all at once,
// with a rollback run bounded by UndoTimeout even after a cancellation,
// and says what it did.
func (r *rollout) undo() []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.opts.UndoTimeout)
	defer cancel()
	defer r.phase("Return the switched hosts to their previous color")()
	var (
		wg                           sync.WaitGroup
		mu                           sync.Mutex
		back, failed, first, unknown []string
	)
	for _, h := range r.out.Hosts {
		if h.Status != StatusDeployed && h.Status != StatusStopped && h.Status != StatusFailed {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, status := r.undoHost(ctx, h)
			mu.Lock()
			defer mu.Unlock()
			switch status {
			case StatusRolledBack:
				back = append(back, line)
			case StatusUndoFailed:
				failed = append(failed, line)
			case StatusUnknown:
				unknown = append(unknown, line)
			case StatusDeployed:
				first = append(first, line)
			}
		}()
	}
	wg.Wait()
	sort.Strings(back)
	sort.Strings(failed)
	sort.Strings(first)
	sort.Strings(unknown)
	var out []string
	if len(back) > 0 {
		out = append(out, fmt.Sprintf("Returned to their previous color: %s.", strings.Join(back, ", ")))
	}
	if len(failed) > 0 {
		out = append(out, fmt.Sprintf("Returning to the previous color FAILED on %s; run mode: rollback there.", strings.Join(failed, ", ")))
	}
	if len(first) > 0 {
		out = append(out, fmt.Sprintf("%s had no previous color (a first deploy) and keep serving the new version.", strings.Join(first, ", ")))
	}
	if len(unknown) > 0 {
		out = append(out, fmt.Sprintf("Could not tell whether %s switched; check with mode: status.", strings.Join(unknown, ", ")))
	}
	if len(out) == 0 {
		out = append(out, "No host had switched; every host serves what it served before.")
	}
	return out
}

// undoHost returns h to its previous color if this rollout switched it.
// It returns a line for the report and h's new status ("" when there was
// nothing to do).
func (r *rollout) undoHost(ctx context.Context, h *HostOutcome) (string, Status) {
	sw, err := r.switched(ctx, h)
	switch {
	case err != nil:
		h.Status = StatusUnknown
		return fmt.Sprintf("%s (%v)", h.Host.Name, err), h.Status
	case !sw:
		return "", ""
	case h.Before.Active == "":
		// A first deploy has nothing to return to.
		h.Status = StatusDeployed
		return h.Host.Name, h.Status
	}
	r.rep.Infof("%s: returning to %s", h.Host.Name, h.Before.Active)
	res, err := r.drv.Run(ctx, h.Host, config.ModeRollback)
	if err != nil {
		h.UndoErr = err
		h.Status = StatusUndoFailed
		return fmt.Sprintf("%s (%v)", h.Host.Name, err), h.Status
	}
	h.Undo = &res
	if res.Failed() {
		h.Status = StatusUndoFailed
		return fmt.Sprintf("%s (%s)", h.Host.Name, res.Failure.Cause), h.Status
	}
	h.Status = StatusRolledBack
	return fmt.Sprintf("%s (%s → %s)", h.Host.Name, orNone(res.Previous), orNone(res.Active)), h.Status
}

// phase opens a log group for a stage of the rollout; the returned
// function closes it and says how long the stage took.
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

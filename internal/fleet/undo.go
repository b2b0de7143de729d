package fleet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// finish decides what the rollout's end means: all done, or a failure or
// cancellation after which the switched hosts go back (unless
// fleet-failure is stop and nothing was cancelled).
func (r *rollout) finish() error {
	cancelled := r.ctx.Err() != nil
	failed := r.firstFailed()
	if failed == nil && !cancelled {
		return nil
	}
	undo := r.opts.Mode == config.ModeDeploy && (cancelled || r.opts.Failure == config.FleetRollback)
	var details []string
	if failed != nil {
		if f := failed.failure(); f != nil && f.Undone != "" {
			details = append(details, fmt.Sprintf("On %s: %s", failed.Host.Name, f.Undone))
		}
	}
	if undo {
		details = append(details, r.undo()...)
	} else if kept := r.named(StatusDeployed); len(kept) > 0 {
		details = append(details, fmt.Sprintf("fleet-failure is stop: %s keep the new version.", strings.Join(kept, ", ")))
	}
	if notStarted := r.named(StatusNotStarted); len(notStarted) > 0 {
		details = append(details, fmt.Sprintf("Not started: %s.", strings.Join(notStarted, ", ")))
	}
	if failed == nil {
		return &Error{Step: StepCancel, Cause: fmt.Sprint(context.Cause(r.ctx)), Details: details}
	}
	e := &Error{Step: StepDeploy, Host: failed.Host.Name, Details: details}
	if f := failed.failure(); f != nil {
		e.Phase, e.Cause, e.Invalid = f.Phase, f.Cause, f.Invalid
		if f.Hint != "" {
			e.Details = append([]string{f.Hint}, e.Details...)
		}
	}
	return e
}

// named lists the hosts with status s, in the hosts input's order.
func (r *rollout) named(s Status) []string {
	var out []string
	for _, h := range r.out.Hosts {
		if r.status(h) == s {
			out = append(out, h.Host.Name)
		}
	}
	return out
}

// failure is the host's own failure, from its result or its run error.
func (h *HostOutcome) failure() *Failure {
	if h.CanaryErr != nil {
		return canaryFailure(h.CanaryErr)
	}
	if h.Result != nil && h.Result.Failure != nil {
		return h.Result.Failure
	}
	if h.RunErr != nil {
		return &Failure{Cause: h.RunErr.Error()}
	}
	if h.LockErr != nil {
		return &Failure{Phase: "Fleet lock", Cause: h.LockErr.Error()}
	}
	return nil
}

// switched reports whether h serves another color than before this
// rollout. When no result came back, a status run finds out. A host that
// serves no color at all has not switched to anything.
func (r *rollout) switched(ctx context.Context, h *HostOutcome) (bool, error) {
	if h.Before == nil {
		return false, nil
	}
	active := ""
	switch {
	case h.Result != nil:
		active = h.Result.Active
	case h.RunErr != nil:
		st, err := r.touch(ctx, h, config.ModeStatus, "read whether "+h.Host.Name+" switched")
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

// undo returns every switched host to its previous color, all at once,
// with a rollback run bounded by UndoTimeout even after a cancellation,
// and says what it did.
func (r *rollout) undo() []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.opts.UndoTimeout)
	defer cancel()
	defer r.phase("Return the switched hosts to their previous color")()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		lines = map[Status][]string{}
	)
	for _, h := range r.out.Hosts {
		switch r.status(h) {
		case StatusDeployed, StatusStopped, StatusFailed:
		default:
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, status := r.undoHost(ctx, h)
			if line == "" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			lines[status] = append(lines[status], line)
		}()
	}
	wg.Wait()
	for _, l := range lines {
		sort.Strings(l)
	}
	var out []string
	if l := lines[StatusRolledBack]; len(l) > 0 {
		out = append(out, fmt.Sprintf("Returned to their previous color: %s.", strings.Join(l, ", ")))
	}
	if l := lines[StatusUndoFailed]; len(l) > 0 {
		out = append(out, fmt.Sprintf("Returning to the previous color FAILED on %s; run mode: rollback there.", strings.Join(l, ", ")))
	}
	if l := lines[StatusDeployed]; len(l) > 0 {
		out = append(out, fmt.Sprintf("%s had no previous color (a first deploy) and keep serving the new version.", strings.Join(l, ", ")))
	}
	if l := lines[StatusUnknown]; len(l) > 0 {
		out = append(out, fmt.Sprintf("Could not tell whether %s switched; check with mode: status.", strings.Join(l, ", ")))
	}
	if len(out) == 0 {
		out = append(out, "No host had switched; every host serves what it served before.")
	}
	return out
}

// undoHost returns h to its previous color if this rollout switched it.
// It returns a line for the report and the status it says ("" when there
// was nothing to do).
func (r *rollout) undoHost(ctx context.Context, h *HostOutcome) (string, Status) {
	sw, err := r.switched(ctx, h)
	switch {
	case err != nil:
		r.move(h, StatusUnknown)
		return describe(h, err.Error()), StatusUnknown
	case !sw:
		return "", ""
	case h.Before.Active == "":
		// A first deploy has nothing to return to: it keeps the new
		// color, whatever stopped its run.
		if r.status(h) != StatusDeployed {
			r.move(h, StatusDeployed)
		}
		return h.Host.Name, StatusDeployed
	}
	r.move(h, StatusReturning)
	r.rep.Infof("%s: returning to %s", h.Host.Name, h.Before.Active)
	res, err := r.touch(ctx, h, config.ModeRollback, "return "+h.Host.Name+" to "+h.Before.Active)
	var lost *TransientError
	if errors.As(err, &lost) && lost.Ran {
		// The rollback's helper was lost while it ran: it goes on, on the
		// host, without the runner, unless the host's daemon restarted
		// under it. Running a second rollback could undo the first, so
		// watch where the host goes instead.
		res, err = r.awaitReturn(ctx, h, err)
	}
	if err != nil {
		r.mu.Lock()
		h.UndoErr = err
		r.mu.Unlock()
		r.move(h, StatusUndoFailed)
		return describe(h, err.Error()), StatusUndoFailed
	}
	r.mu.Lock()
	h.Undo = &res
	r.mu.Unlock()
	if res.Failed() {
		r.move(h, StatusUndoFailed)
		return describe(h, res.Failure.Cause), StatusUndoFailed
	}
	r.move(h, StatusRolledBack)
	return describe(h, fmt.Sprintf("%s → %s", orNone(res.Previous), orNone(res.Active))), StatusRolledBack
}

// otherColor is blue for green and green for blue.
func otherColor(c string) string {
	switch c {
	case "blue":
		return "green"
	case "green":
		return "blue"
	}
	return ""
}

// awaitReturn reads h's state until it serves its previous color again,
// for up to the retry window; lost is how its rollback was lost.
func (r *rollout) awaitReturn(ctx context.Context, h *HostOutcome, lost error) (HostResult, error) {
	r.rep.Warnf("%s: lost the connection to its rollback (%v); it finishes on the host: waiting for %s to serve %s", h.Host.Name, lost, h.Host.Name, h.Before.Active)
	deadline := r.clock.now().Add(r.opts.RetryWindow)
	for {
		st, err := r.touch(ctx, h, config.ModeStatus, "read the live color of "+h.Host.Name)
		if err == nil && !st.Failed() && st.Active == h.Before.Active {
			// It went from the other color back to this one.
			st.Previous = otherColor(st.Active)
			return st, nil
		}
		if !r.clock.now().Before(deadline) {
			return HostResult{}, fmt.Errorf("lost the connection to its rollback (%v), and it still does not serve %s after %s; check with mode: status", lost, h.Before.Active, r.opts.RetryWindow)
		}
		select {
		case <-ctx.Done():
			return HostResult{}, fmt.Errorf("lost the connection to its rollback (%v): %w", lost, context.Cause(ctx))
		case <-r.clock.after(retryEvery):
		}
	}
}

package fleet

import (
	"fmt"
	"slices"
)

// Status is what became of one host of a rollout. A host's status changes
// only through (*rollout).move, and only along the transitions table, so
// that what a host may go through is written in one place and a change
// that breaks it is refused (and said) rather than reported as the
// host's truth.
type Status string

// The statuses of a host, as hosts-result and the summary spell them.
// Deploying and Returning are under way: a rollout never ends with a host
// in either.
const (
	StatusNotStarted Status = "not started"
	StatusSkipped    Status = "skipped"   // already on the image
	StatusDeploying  Status = "deploying" // its run (deploy or rollback) is under way
	StatusDeployed   Status = "deployed"  // switched (or rolled back, in mode rollback) and kept
	StatusFailed     Status = "failed"    // its own run failed; it left itself on its previous color
	StatusStopped    Status = "stopped"   // stopped by another host's failure or a cancellation before it was done
	StatusReturning  Status = "returning" // the fleet's rollback of it is under way
	StatusRolledBack Status = "rolled back"
	StatusUndoFailed Status = "rollback failed"
	StatusUnknown    Status = "unknown" // no result came back and its state could not be read
	StatusLive       Status = "live"    // mode status
)

// transitions is the life of a host: for each status, the statuses it
// may move to. A status that is not a key here is final.
//
// A rollout's later steps fit in it without new statuses: the jobs run
// once, by the first host that deploys, before any other host starts its
// color (issue 17): the others stay not started until they have settled,
// and for good when they fail; the hosts of a canary wave (issue 20) are deployed while the
// rollout holds and judges them, and go back like any switched host when
// the judgement fails.
var transitions = map[Status][]Status{
	// A host starts its run, is already on the image, or is only read
	// (mode status).
	StatusNotStarted: {StatusDeploying, StatusSkipped, StatusLive},
	// Its run ends: done, failed on its own, or stopped by the rollout
	// (another host failed, or the rollout was cancelled).
	StatusDeploying: {StatusDeployed, StatusFailed, StatusStopped},
	// The fleet returns a switched host to its previous color.
	StatusDeployed: {StatusReturning},
	// A host that failed or was stopped without a result that says where
	// it stands is read first: it may have switched (then it goes back,
	// or keeps the new color when it had none before) or not (then it
	// stays as it is); when it cannot be read its state is unknown.
	StatusFailed:  {StatusReturning, StatusDeployed, StatusUnknown},
	StatusStopped: {StatusReturning, StatusDeployed, StatusUnknown},
	// The fleet's rollback of it ends.
	StatusReturning: {StatusRolledBack, StatusUndoFailed},
}

// canMove reports whether the table allows a host to go from from to to.
func canMove(from, to Status) bool {
	return slices.Contains(transitions[from], to)
}

// errIllegalMove is a transition the table does not allow: a bug in the
// rollout, never the host's fault.
type errIllegalMove struct {
	host     string
	from, to Status
}

func (e *errIllegalMove) Error() string {
	return fmt.Sprintf("bluegreen bug: %s may not go from %q to %q; its status stays %q", e.host, e.from, e.to, e.from)
}

// move changes h's status to to when the table allows it, and records the
// step in h's trail; otherwise h keeps its status, and the refusal is
// said and kept in the outcome. It is safe for concurrent use.
func (r *rollout) move(h *HostOutcome, to Status) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !canMove(h.Status, to) {
		err := &errIllegalMove{host: h.Host.Name, from: h.Status, to: to}
		r.out.Refused = append(r.out.Refused, err.Error())
		r.rep.Warnf("%v", err)
		return false
	}
	h.Status = to
	h.trail = append(h.trail, to)
	return true
}

// status reads h's status under the rollout's lock.
func (r *rollout) status(h *HostOutcome) Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return h.Status
}

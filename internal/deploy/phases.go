package deploy

// The deploy's phases in one place: which may follow which, what a
// failure of each undoes, and what becomes of the new color then. deploy,
// rollback, stage and promote all run these phases and fail through fail.

import (
	"context"
	"fmt"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/compose"
)

// PhaseKind says which step of a deploy a phase is, whatever its display
// name ("Switch nginx to green", "Switch nginx back to blue"), so that
// callers and tests never match phases by their text.
type PhaseKind string

// The phase kinds, in the order a deploy runs them. PhaseSingletons hands
// the singletons over to the new color after the switch (and its
// observation): the old color's stop, then the new color's start; a
// failure switches back.
const (
	PhasePreflight  PhaseKind = "preflight"
	PhaseLock       PhaseKind = "lock"
	PhaseFind       PhaseKind = "find"
	PhaseStart      PhaseKind = "start"
	PhaseHealth     PhaseKind = "health"
	PhaseCanary     PhaseKind = "canary"
	PhaseSwitch     PhaseKind = "switch"
	PhaseObserve    PhaseKind = "observe"
	PhaseSingletons PhaseKind = "singletons"
	PhaseSwitchBack PhaseKind = "switch-back"
	PhaseDrain      PhaseKind = "drain"
	PhaseStop       PhaseKind = "stop"
)

// phaseEnd stands for the start of a run (as a "from") and for its end (as
// a "to") in phaseNext.
const phaseEnd PhaseKind = ""

// phaseNext is every transition a run may make between the phases it
// records in Result.Phases, whatever its mode, on success or failure. A
// failed phase ends the run, except a failed observe, which switches back.
var phaseNext = map[PhaseKind][]PhaseKind{
	// Every mode begins with preflight, but history, which only reads.
	phaseEnd: {PhasePreflight, PhaseFind},
	// Preflight and lock fail before anything is touched.
	PhasePreflight: {PhaseLock, phaseEnd},
	PhaseLock:      {PhaseFind, phaseEnd},
	// Status and history end after find; deploy, stage and rollback start
	// a color; promote checks the staged one; abort removes it.
	// Maintenance and live switch the include and end.
	PhaseFind: {phaseEnd, PhaseStart, PhaseHealth, PhaseStop, PhaseSwitch},
	// Rollback to a deploy id first finds the deploy (a start phase), then
	// starts its color.
	PhaseStart: {PhaseStart, PhaseHealth, phaseEnd},
	// Promote checks the staged color, then waits for it like a deploy;
	// stage ends with the new color healthy, or with the preview switched.
	PhaseHealth: {PhaseHealth, PhaseCanary, PhaseSwitch, phaseEnd},
	// A canary's steps lead to the full switch; a failed step has put
	// every request back on the old color itself.
	PhaseCanary: {PhaseSwitch, phaseEnd},
	PhaseSwitch: {PhaseObserve, PhaseSingletons, PhaseDrain, phaseEnd},
	// A failed observe switches back, or ends a first deploy, which has
	// nothing to switch back to.
	PhaseObserve: {PhaseSingletons, PhaseDrain, PhaseSwitchBack, phaseEnd},
	// A singleton that fails to start switches back like a failed observe.
	PhaseSingletons: {PhaseDrain, PhaseSwitchBack, phaseEnd},
	PhaseSwitchBack: {PhaseDrain, phaseEnd},
	// A first deploy, and a switch back, end after the drain.
	PhaseDrain: {PhaseStop, phaseEnd},
	PhaseStop:  {phaseEnd},
}

// undo is what a failed phase leaves to be undone.
type undo int

const (
	// undoNothing: nothing was changed yet.
	undoNothing undo = iota
	// undoNewColor: the new color runs, but nginx never served it (a failed
	// switch puts the previous include back itself). Its logs are shown
	// and it is disposed of as its origin says.
	undoNewColor
	// undoSwitch: nginx serves the new color. nginx is switched back to the
	// old color, which was never stopped, the new color is drained, then
	// disposed of as its origin says.
	undoSwitch
	// undoKeep: nginx serves the new color and the old one is let go; a
	// failure leaves a leftover the next deploy removes, and the deploy
	// still succeeds.
	undoKeep
)

// failureUndoes is what a failure of each phase of a deploy, rollback,
// stage or promote undoes (fail applies it). The phases that refuse before
// they change anything say so themselves: a rollback with nothing to go
// back to, the check of a staged color before a promote, and an abort,
// whose one phase touches neither nginx nor the live color.
var failureUndoes = map[PhaseKind]undo{
	PhasePreflight: undoNothing,
	PhaseLock:      undoNothing,
	PhaseFind:      undoNothing,
	PhaseStart:     undoNewColor,
	PhaseHealth:    undoNewColor,
	PhaseCanary:    undoNewColor,
	PhaseSwitch:    undoNewColor,
	PhaseObserve:   undoSwitch,
	// The old color's singletons were stopped; the switch back starts
	// them again (restoreSingletons).
	PhaseSingletons: undoSwitch,
	PhaseStop:       undoKeep,
	// A failed switch back and a drain are reported, never undone: the
	// drain never fails, and a switch back is itself the undo.
}

// origin is where the new color of a run came from, which decides what
// becomes of it when the run fails (see dispose).
type origin int

const (
	// originStarted: this run created it from the compose files; it is
	// removed.
	originStarted origin = iota
	// originKept: a rollback started the kept previous color again; it is
	// stopped again, kept for the next rollback.
	originKept
	// originStaged: a promote switches to the color a stage run left running;
	// it is left running, for another promote or an abort.
	originStaged
)

// fail undoes what the failed phase pe leaves behind, as failureUndoes
// says for its kind, and returns the error the run ends with: pe, saying
// what was undone, or nil when the deploy succeeded all the same. traffic
// is the new color's traffic container, whose logs are shown when it did
// not become healthy (empty when the color was proven healthy).
func (r *run) fail(ctx context.Context, pe *PhaseError, traffic compose.Container, from origin) error {
	switch failureUndoes[pe.Kind] {
	case undoNewColor:
		return r.abandon(ctx, pe, traffic, from)
	case undoSwitch:
		return r.switchBack(ctx, pe, traffic, from)
	case undoKeep:
		// Only the stop of the old color is let go this way.
		r.d.Report.Warnf("the deploy succeeded, but stopping %s failed: %v; the next deploy removes it", r.live.Color, pe.Err)
		return nil
	default:
		return pe
	}
}

// dispose takes the new color away after a failure, as its origin says,
// and says in words what it did. It is bounded by the clean-up timeout
// even when ctx was cancelled.
func (r *run) dispose(ctx context.Context, from origin) string {
	ctx, cancel := r.cleanupContext(ctx, 0)
	defer cancel()
	project := r.cfg.ProjectFor(r.target)
	zero := time.Duration(0)
	switch from {
	case originStaged:
		return fmt.Sprintf("The staged %s (%s) was left running: promote it again, or remove it with mode: abort.", r.target, project)
	case originKept:
		if err := r.d.Engine.Stop(ctx, project, &zero); err != nil {
			return fmt.Sprintf("Stopping %s ALSO failed: %v; stop it with: docker compose -p %s stop", project, err, project)
		}
		return fmt.Sprintf("Stopped %s again.", project)
	}
	// The new containers go; the kept copy they replaced comes back.
	return r.disposeStarted(ctx, project)
}

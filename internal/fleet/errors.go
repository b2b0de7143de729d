package fleet

import (
	"errors"
	"fmt"
	"strings"
)

// Step is the step of a rollout where it stopped. (A staged deploy's
// "stage" is another thing: mode stage.)
type Step string

// The steps of a rollout, in order.
const (
	StepPreflight Step = "preflight" // nothing was touched anywhere
	StepLock      Step = "lock"      // nothing was touched anywhere
	StepDeploy    Step = "deploy"
	StepCancel    Step = "cancel"
)

// Error is a failed rollout: where it stopped, on which host, why, and
// what the fleet did about the other hosts.
type Error struct {
	Step Step
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
	case e.Step == StepPreflight || e.Step == StepLock:
		return fmt.Sprintf("fleet %s failed; nothing was changed on any host:\n  - %s", e.Step, strings.Join(e.Problems, "\n  - "))
	case e.Step == StepCancel:
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

package deploy

import "time"

// SetPoll sets how often d polls Docker while it waits on a container, so
// that the tests, whose fake Docker answers at once, run in milliseconds.
func SetPoll(d *Deployer, every time.Duration) { d.poll = every }

// PhaseNext is phaseNext, the transitions a run may make between phases;
// PhaseEnd stands for a run's start and end in it.
var (
	PhaseNext = phaseNext
	PhaseEnd  = phaseEnd
)

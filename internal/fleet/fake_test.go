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
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// fakeHost is one host of a fakeDriver: its live color and image, and
// how it misbehaves.
type fakeHost struct {
	id     string // daemon id
	active string
	image  string

	unreachable bool
	lockErr     error
	// busyOnce makes the first lock taken without waiting fail, as when
	// another rollout holds it.
	busyOnce bool
	// lockFails makes the next n lock calls meet a transient error (the
	// daemon restarting); retakeErr fails every lock taken after the
	// first (another rollout took the lock in between).
	lockFails int
	retakeErr error
	locks     int
	// failDeploy fails the deploy in the health check, before the switch.
	failDeploy bool
	// invalid fails the status run as an input problem.
	invalid bool
	// block makes a deploy wait for its context, as a slow health check
	// does; blockAfterSwitch waits after the switch (in the drain), and
	// with failAfterSwitch then says it failed (stopped in its drain).
	block, blockAfterSwitch, failAfterSwitch bool
	// blockLost makes a deploy wait for its context, then return no
	// result: the connection dropped while it was stopping.
	blockLost bool
	// lost returns no result: the connection dropped after the switch;
	// with lostNothing the host then serves no color at all.
	lost, lostNothing bool
	// statusFailsLater fails every status run after the first: the host
	// cannot be read once the rollout has started.
	statusFailsLater bool
	statusRuns       int
	// transient makes the next n runs of a mode meet a transient error
	// before the helper began.
	transient map[config.Mode]int
	// jobFails fails a deploy's job in its start: its jobs never settle.
	// afterJobs, when set, runs once a deploy's jobs have settled.
	jobFails  bool
	afterJobs func(ctx context.Context)
	// failRollback fails a rollback run; blockRollback makes one wait
	// for its context. lostRollback loses the connection to a rollback
	// that goes on and finishes on the host; with rollbackDied the
	// rollback died with it, its work undone.
	failRollback, blockRollback, lostRollback, rollbackDied bool
}

// blockFor bounds every wait of a fake host for its context: a rollout
// that never stops a host gets a result (a success) after it, so that a
// test fails on the host's status rather than hanging.
const blockFor = 3 * time.Second

// wait waits for ctx; it reports false when blockFor passed first.
func wait(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-time.After(blockFor):
		return false
	}
}

// fakeLock is one fleet lock a fakeDriver gave.
type fakeLock struct {
	lost, released bool
	lose           func(error)
}

// fakeDriver is a fleet whose hosts live in memory. It records every
// call in order, and every run made on a host while the fleet lock it
// was given is not held (unlocked).
type fakeDriver struct {
	mu     sync.Mutex
	hosts  map[string]*fakeHost
	events []string
	// started is closed when the first blocking run starts.
	started chan struct{}
	once    sync.Once
	image   string
	held    int
	locks   map[string]*fakeLock
	// unlocked lists the runs made without the host's lock.
	unlocked []string
	// onRun, when set, is called as each run starts.
	onRun func(h Host, mode config.Mode)
	// jobs says, for each run but a status run, what it was told to do
	// with the jobs (describeJobs).
	jobs []string
}

var _ Driver = (*fakeDriver)(nil)

func newFake(image string, hosts map[string]*fakeHost) *fakeDriver {
	return &fakeDriver{hosts: hosts, started: make(chan struct{}), image: image, locks: map[string]*fakeLock{}}
}

func (f *fakeDriver) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fmt.Sprintf(format, args...))
}

// Events returns the recorded calls; with only, those whose verb is
// among only.
func (f *fakeDriver) Events(only ...string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		verb, _, _ := strings.Cut(e, " ")
		if len(only) == 0 || contains(only, verb) {
			out = append(out, e)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (f *fakeDriver) Connect(ctx context.Context, h Host) (string, error) {
	f.record("connect %s", h.Name)
	fh := f.hosts[h.Name]
	if fh.unreachable {
		return "", errors.New("dial tcp: connection refused")
	}
	return fh.id, nil
}

func (f *fakeDriver) Lock(ctx context.Context, h Host, wait bool) (*Lease, error) {
	verb := "trylock"
	if wait {
		verb = "lock"
	}
	f.record("%s %s", verb, h.Name)
	fh := f.hosts[h.Name]
	f.mu.Lock()
	busy := fh.busyOnce && !wait
	fh.busyOnce = fh.busyOnce && wait
	switch {
	case busy:
		f.mu.Unlock()
		return nil, fmt.Errorf("%w: pid 7, run 41", ErrLockBusy)
	case fh.lockFails > 0:
		fh.lockFails--
		f.mu.Unlock()
		return nil, &TransientError{Err: errors.New("failed to start the fleet lock's helper: connection refused")}
	case fh.lockErr != nil:
		f.mu.Unlock()
		return nil, fh.lockErr
	case fh.retakeErr != nil && fh.locks > 0:
		f.mu.Unlock()
		return nil, fh.retakeErr
	}
	fh.locks++
	l := &fakeLock{}
	f.locks[h.Name] = l
	f.held++
	f.mu.Unlock()
	lease, lose := NewLease(func() {
		f.mu.Lock()
		if !l.lost && !l.released {
			f.held--
		}
		l.released = true
		f.mu.Unlock()
		f.record("release %s", h.Name)
	})
	l.lose = lose
	return lease, nil
}

// LoseLock ends name's fleet lock as a daemon restart does.
func (f *fakeDriver) LoseLock(name string) {
	f.mu.Lock()
	l := f.locks[name]
	if l == nil || l.lost || l.released {
		f.mu.Unlock()
		return
	}
	l.lost = true
	f.held--
	f.mu.Unlock()
	f.record("lost %s", name)
	l.lose(errors.New("its helper exited with code 137"))
}

// Held is how many fleet locks are held.
func (f *fakeDriver) Held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held
}

// Unlocked lists the runs made on a host while its lock was not held.
func (f *fakeDriver) Unlocked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.unlocked...)
}

func (f *fakeDriver) Run(ctx context.Context, h Host, mode config.Mode, jobs deploy.Jobs) (HostResult, error) {
	f.record("%s %s", mode, h.Name)
	if f.onRun != nil {
		f.onRun(h, mode)
	}
	f.mu.Lock()
	if mode != config.ModeStatus {
		f.jobs = append(f.jobs, describeJobs(h, mode, jobs))
	}
	fh := f.hosts[h.Name]
	if l, ever := f.locks[h.Name]; ever && (l.lost || l.released) {
		f.unlocked = append(f.unlocked, fmt.Sprintf("%s %s", mode, h.Name))
	}
	if fh.transient[mode] > 0 {
		fh.transient[mode]--
		f.mu.Unlock()
		return HostResult{}, &TransientError{Err: errors.New("failed to create the helper container: the Docker daemon did not answer: connection refused")}
	}
	f.mu.Unlock()
	switch mode {
	case config.ModeStatus:
		f.mu.Lock()
		defer f.mu.Unlock()
		fh.statusRuns++
		if fh.statusFailsLater && fh.statusRuns > 1 {
			return HostResult{}, errors.New("the helper on the host exited with code 1 without sending its result back")
		}
		res := HostResult{Mode: mode, Previous: fh.active, Active: fh.active, Image: fh.image}
		if fh.image != "" {
			res.Running = []string{fh.image}
		}
		if fh.invalid {
			res.Failure = &Failure{Phase: "Preflight", Cause: "compose-file: service web: build: not supported", Invalid: true}
		}
		return res, nil
	case config.ModeRollback:
		if fh.blockRollback {
			f.once.Do(func() { close(f.started) })
			if wait(ctx) {
				return HostResult{Mode: mode, Previous: fh.active, Active: fh.active, Failure: &Failure{Phase: "Start blue again", Cause: context.Cause(ctx).Error()}}, nil
			}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		res := HostResult{Mode: mode, Previous: fh.active, RolledBack: true}
		switch {
		case fh.failRollback:
			res.Active = fh.active
			res.Failure = &Failure{Phase: "Start blue again", Cause: "no containers"}
			return res, nil
		case fh.lostRollback && fh.rollbackDied:
			return HostResult{}, &TransientError{Ran: true, Err: errors.New("lost the rollback helper: unexpected EOF")}
		}
		fh.active = other(fh.active)
		fh.image = "previous"
		res.Active = fh.active
		if fh.lostRollback {
			return HostResult{}, &TransientError{Ran: true, Err: errors.New("lost the rollback helper: unexpected EOF")}
		}
		return res, nil
	}

	prev := fh.active
	res := HostResult{Mode: mode, Previous: prev, Target: other(prev), Active: prev}
	if fh.jobFails {
		res.Failure = &Failure{Kind: "start", Phase: "Start " + other(prev) + " (app-" + other(prev) + ")", Cause: "job failed: service migrate exited with code 1"}
		return res, nil
	}
	if jobs.Settled != nil {
		f.record("settle %s", h.Name)
		jobs.Settled()
	}
	if fh.afterJobs != nil {
		fh.afterJobs(ctx)
	}
	if fh.block || fh.blockLost {
		f.once.Do(func() { close(f.started) })
		if wait(ctx) {
			if fh.blockLost {
				return HostResult{}, errors.New("the connection to the host closed")
			}
			res.Failure = &Failure{Phase: "Health check", Cause: context.Cause(ctx).Error(), Undone: "Removed the new color."}
			return res, nil
		}
	}
	if fh.failDeploy {
		res.Failure = &Failure{Kind: "health", Phase: "Health check http://127.0.0.1:8082/health", Cause: "got 500 after 15 probes", Undone: "Removed the new color app-green; nginx still serves blue."}
		return res, nil
	}
	f.mu.Lock()
	fh.active = other(prev)
	fh.image = f.image
	f.mu.Unlock()
	res.Active = other(prev)
	res.Image = f.image
	if fh.blockAfterSwitch {
		f.once.Do(func() { close(f.started) })
		if wait(ctx) && fh.failAfterSwitch {
			res.Failure = &Failure{Phase: "Drain", Cause: context.Cause(ctx).Error()}
		}
		return res, nil
	}
	if fh.lost {
		if fh.lostNothing {
			f.mu.Lock()
			fh.active = ""
			f.mu.Unlock()
		}
		return HostResult{}, &TransientError{Ran: true, Err: errors.New("lost the deploy helper: the connection to the host closed")}
	}
	return res, nil
}

func other(c string) string {
	if c == "blue" {
		return "green"
	}
	return "blue"
}

// hostsOf makes Hosts named by the fake's keys, in the given order.
func hostsOf(names ...string) []Host {
	out := make([]Host, 0, len(names))
	for _, n := range names {
		out = append(out, Host{Name: n})
	}
	return out
}

// statuses maps host names to their outcome's status.
func statuses(o *Outcome) map[string]Status {
	out := map[string]Status{}
	for _, h := range o.Hosts {
		out[h.Host.Name] = h.Status
	}
	return out
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

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
	// failDeploy fails the deploy in the health check, before the switch.
	failDeploy bool
	// invalid fails the status run as an input problem.
	invalid bool
	// block makes a deploy wait for its context, as a slow health check
	// does; blockAfterSwitch waits after the switch (in the drain).
	block, blockAfterSwitch bool
	// lost returns no result: the connection dropped after the switch.
	lost bool
	// failRollback fails a rollback run.
	failRollback bool
}

// fakeDriver is a fleet whose hosts live in memory. It records every
// call in order.
type fakeDriver struct {
	mu     sync.Mutex
	hosts  map[string]*fakeHost
	events []string
	// started is closed when the first blocking deploy starts.
	started chan struct{}
	once    sync.Once
	image   string
	held    int
}

var _ Driver = (*fakeDriver)(nil)

func newFake(image string, hosts map[string]*fakeHost) *fakeDriver {
	return &fakeDriver{hosts: hosts, started: make(chan struct{}), image: image}
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

func (f *fakeDriver) Lock(ctx context.Context, h Host, wait bool) (func(), error) {
	verb := "trylock"
	if wait {
		verb = "lock"
	}
	f.record("%s %s", verb, h.Name)
	fh := f.hosts[h.Name]
	f.mu.Lock()
	busy := fh.busyOnce && !wait
	fh.busyOnce = fh.busyOnce && wait
	if busy {
		f.mu.Unlock()
		return nil, errors.New("timed out waiting for the fleet lock (0s)")
	}
	f.mu.Unlock()
	if err := fh.lockErr; err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.held++
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.held--
		f.mu.Unlock()
		f.record("release %s", h.Name)
	}, nil
}

// Held is how many fleet locks are held.
func (f *fakeDriver) Held() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held
}

func (f *fakeDriver) Run(ctx context.Context, h Host, mode config.Mode) (HostResult, error) {
	f.record("%s %s", mode, h.Name)
	f.mu.Lock()
	fh := f.hosts[h.Name]
	f.mu.Unlock()
	switch mode {
	case config.ModeStatus:
		f.mu.Lock()
		defer f.mu.Unlock()
		res := HostResult{Mode: mode, Previous: fh.active, Active: fh.active, Image: fh.image}
		if fh.image != "" {
			res.Running = []string{fh.image}
		}
		if fh.invalid {
			res.Failure = &Failure{Phase: "Preflight", Cause: "compose-file: service web: build: not supported", Invalid: true}
		}
		return res, nil
	case config.ModeRollback:
		f.mu.Lock()
		defer f.mu.Unlock()
		res := HostResult{Mode: mode, Previous: fh.active, RolledBack: true}
		if fh.failRollback {
			res.Active = fh.active
			res.Failure = &Failure{Phase: "Start blue again", Cause: "no containers"}
			return res, nil
		}
		fh.active = other(fh.active)
		fh.image = "previous"
		res.Active = fh.active
		return res, nil
	}

	prev := fh.active
	res := HostResult{Mode: mode, Previous: prev, Target: other(prev), Active: prev}
	if fh.block {
		f.once.Do(func() { close(f.started) })
		<-ctx.Done()
		res.Failure = &Failure{Phase: "Health check", Cause: context.Cause(ctx).Error(), Undone: "Removed the new color."}
		return res, nil
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
		<-ctx.Done()
		return res, nil
	}
	if fh.lost {
		return HostResult{}, errors.New("the connection to the host closed")
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

package fleet

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// Short names for the trails below.
const (
	dep  = StatusDeploying
	ok   = StatusDeployed
	fail = StatusFailed
	stop = StatusStopped
	ret  = StatusReturning
	back = StatusRolledBack
	bad  = StatusUndoFailed
	unk  = StatusUnknown
)

// machineCase is one rollout of three hosts with the fake Driver, and
// the statuses each host must go through, in order.
type machineCase struct {
	name  string
	hosts func(map[string]*fakeHost)
	opts  Options
	// cancel cancels the rollout once a blocking run has started.
	cancel bool
	trails map[string][]Status
	// runs are the deploy and rollback runs, in order (the fleet's own
	// rollbacks, which run at once, sorted among themselves).
	runs []string
}

var machineCases = []machineCase{
	{
		name:   "every host deploys, one after the other",
		trails: map[string][]Status{"h1": {dep, ok}, "h2": {dep, ok}, "h3": {dep, ok}},
		runs:   []string{"deploy h1", "deploy h2", "deploy h3"},
	},
	{
		name:   "a host already on the image is skipped",
		hosts:  func(h map[string]*fakeHost) { h["h2"].active, h["h2"].image = "green", newImage },
		trails: map[string][]Status{"h1": {dep, ok}, "h2": {StatusSkipped}, "h3": {dep, ok}},
		runs:   []string{"deploy h1", "deploy h3"},
	},
	{
		name:   "mode status only reads",
		opts:   Options{Mode: config.ModeStatus},
		trails: map[string][]Status{"h1": {StatusLive}, "h2": {StatusLive}, "h3": {StatusLive}},
	},
	{
		name:   "host 3 fails: the switched hosts go back",
		hosts:  func(h map[string]*fakeHost) { h["h3"].failDeploy = true },
		trails: map[string][]Status{"h1": {dep, ok, ret, back}, "h2": {dep, ok, ret, back}, "h3": {dep, fail}},
		runs:   []string{"deploy h1", "deploy h2", "deploy h3", "rollback h1", "rollback h2"},
	},
	{
		name:   "a rollback of a switched host that fails",
		hosts:  func(h map[string]*fakeHost) { h["h1"].failRollback = true; h["h2"].failDeploy = true },
		trails: map[string][]Status{"h1": {dep, ok, ret, bad}, "h2": {dep, fail}, "h3": {}},
		runs:   []string{"deploy h1", "deploy h2", "rollback h1"},
	},
	{
		name:   "cancel: the deploying host stops, the switched one goes back, whatever fleet-failure says",
		hosts:  func(h map[string]*fakeHost) { h["h2"].block = true },
		opts:   Options{Failure: config.FleetStop},
		cancel: true,
		trails: map[string][]Status{"h1": {dep, ok, ret, back}, "h2": {dep, stop}, "h3": {}},
		runs:   []string{"deploy h1", "deploy h2", "rollback h1"},
	},
	{
		// Mutation: undo skipping stopped hosts.
		name: "a host stopped after it switched goes back",
		hosts: func(h map[string]*fakeHost) {
			h["h1"].blockAfterSwitch, h["h1"].failAfterSwitch = true, true
			h["h2"].failDeploy = true
		},
		opts:   Options{MaxParallel: 2},
		trails: map[string][]Status{"h1": {dep, stop, ret, back}, "h2": {dep, fail}, "h3": {}},
		runs:   []string{"deploy h1", "deploy h2", "rollback h1"},
	},
	{
		name:   "a host whose result was lost after it switched goes back",
		hosts:  func(h map[string]*fakeHost) { h["h2"].lost = true },
		trails: map[string][]Status{"h1": {dep, ok, ret, back}, "h2": {dep, fail, ret, back}, "h3": {}},
		runs:   []string{"deploy h1", "deploy h2", "rollback h1", "rollback h2"},
	},
	{
		// Mutation: an empty Active counting as switched.
		name:   "a host whose result was lost and that serves no color has not switched",
		hosts:  func(h map[string]*fakeHost) { h["h2"].lost, h["h2"].lostNothing = true, true },
		trails: map[string][]Status{"h1": {dep, ok, ret, back}, "h2": {dep, fail}, "h3": {}},
		runs:   []string{"deploy h1", "deploy h2", "rollback h1"},
	},
	{
		name: "a first deploy whose result was lost after it switched keeps the new color",
		hosts: func(h map[string]*fakeHost) {
			for _, fh := range h {
				fh.active, fh.image = "", ""
			}
			h["h1"].lost = true
		},
		trails: map[string][]Status{"h1": {dep, fail, ok}, "h2": {}, "h3": {}},
		runs:   []string{"deploy h1"},
	},
	{
		name: "a first deploy stopped after it switched keeps the new color",
		hosts: func(h map[string]*fakeHost) {
			for _, fh := range h {
				fh.active, fh.image = "", ""
			}
			h["h1"].blockAfterSwitch, h["h1"].failAfterSwitch = true, true
			h["h2"].failDeploy = true
		},
		opts:   Options{MaxParallel: 2},
		trails: map[string][]Status{"h1": {dep, stop, ok}, "h2": {dep, fail}, "h3": {}},
		runs:   []string{"deploy h1", "deploy h2"},
	},
	{
		name:   "a host whose result was lost and that cannot be read is unknown",
		hosts:  func(h map[string]*fakeHost) { h["h2"].lost, h["h2"].statusFailsLater = true, true },
		trails: map[string][]Status{"h1": {dep, ok, ret, back}, "h2": {dep, fail, unk}, "h3": {}},
		runs:   []string{"deploy h1", "deploy h2", "rollback h1"},
	},
	{
		name: "a stopped host that sent nothing back and cannot be read is unknown",
		hosts: func(h map[string]*fakeHost) {
			h["h1"].blockLost, h["h1"].statusFailsLater = true, true
			h["h2"].failDeploy = true
		},
		opts:   Options{MaxParallel: 2},
		trails: map[string][]Status{"h1": {dep, stop, unk}, "h2": {dep, fail}, "h3": {}},
		runs:   []string{"deploy h1", "deploy h2"},
	},
	{
		name:   "fleet-failure stop: the switched host keeps the new version, the next is not started",
		hosts:  func(h map[string]*fakeHost) { h["h2"].failDeploy = true },
		opts:   Options{Failure: config.FleetStop},
		trails: map[string][]Status{"h1": {dep, ok}, "h2": {dep, fail}, "h3": {}},
		runs:   []string{"deploy h1", "deploy h2"},
	},
	{
		// Mutation: skip-when-already-on-the-image in a fleet rollback.
		name:   "mode rollback: a host already on the image still goes back",
		hosts:  func(h map[string]*fakeHost) { h["h2"].active, h["h2"].image = "green", newImage },
		opts:   Options{Mode: config.ModeRollback},
		trails: map[string][]Status{"h1": {dep, ok}, "h2": {dep, ok}, "h3": {dep, ok}},
		runs:   []string{"rollback h1", "rollback h2", "rollback h3"},
	},
	{
		// Mutation: fleet-failure stop not stopping parallel hosts in
		// mode rollback.
		name:   "mode rollback with fleet-failure stop: a failed host stops the others",
		hosts:  func(h map[string]*fakeHost) { h["h1"].blockRollback = true; h["h2"].failRollback = true },
		opts:   Options{Mode: config.ModeRollback, Failure: config.FleetStop, MaxParallel: 2},
		trails: map[string][]Status{"h1": {dep, stop}, "h2": {dep, fail}, "h3": {}},
		runs:   []string{"rollback h1", "rollback h2"},
	},
}

// runMachineCase runs c and checks every host's trail and the runs; it
// returns the transitions the hosts took.
func runMachineCase(t *testing.T, c machineCase) map[[2]Status]bool {
	t.Helper()
	hosts := threeOnBlue()
	if c.hosts != nil {
		c.hosts(hosts)
	}
	drv := newFake(newImage, hosts)
	opts := c.opts
	opts.Image, opts.Report, opts.clock = newImage, quiet(), fakeClock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c.cancel {
		go func() {
			<-drv.started
			cancel()
		}()
	}
	out := rollWithin(t, func() *Outcome { return Rollout(ctx, hostsOf("h1", "h2", "h3"), drv, opts) })
	require.Empty(t, out.Refused, "no transition was refused")
	trails := map[string][]Status{}
	edges := map[[2]Status]bool{}
	for _, h := range out.Hosts {
		trails[h.Host.Name] = append([]Status{}, h.trail...)
		from := StatusNotStarted
		for _, to := range h.trail {
			edges[[2]Status{from, to}] = true
			from = to
		}
		last := StatusNotStarted
		if n := len(h.trail); n > 0 {
			last = h.trail[n-1]
		}
		require.Equal(t, last, h.Status, "%s: its status is the end of its trail", h.Host.Name)
		require.NotContains(t, []Status{dep, ret}, h.Status, "%s: no host ends under way", h.Host.Name)
	}
	require.Equal(t, c.trails, trails)
	var deploys, rollbacks []string
	for _, r := range drv.Events("deploy", "rollback") {
		if strings.HasPrefix(r, "rollback") && opts.Mode != config.ModeRollback {
			rollbacks = append(rollbacks, r)
		} else {
			deploys = append(deploys, r)
		}
	}
	if opts.MaxParallel > 1 {
		// Hosts that run at once start in any order.
		deploys = sorted(deploys)
	}
	require.Equal(t, c.runs, append(deploys, sorted(rollbacks)...))
	require.Zero(t, drv.Held(), "every lock taken is given back")
	require.Empty(t, drv.Unlocked(), "no host is touched without its fleet lock")
	return edges
}

// TestTransitions drives a fleet of fake hosts through every transition
// of the table, including cancel and undo, and checks each host's trail;
// then that every transition of the table was taken by some case, so a
// transition added to the table comes with its case.
func TestTransitions(t *testing.T) {
	t.Parallel()
	taken := map[[2]Status]bool{}
	for _, c := range machineCases {
		t.Run(c.name, func(t *testing.T) {
			for e := range runMachineCase(t, c) {
				taken[e] = true
			}
		})
	}
	var missing []string
	for from, tos := range transitions {
		for _, to := range tos {
			if !taken[[2]Status{from, to}] {
				missing = append(missing, fmt.Sprintf("%s → %s", from, to))
			}
		}
	}
	sort.Strings(missing)
	require.Empty(t, missing, "transitions of the table no case takes")
	for e := range taken {
		require.True(t, canMove(e[0], e[1]), "%s → %s was taken but is not in the table", e[0], e[1])
	}
}

// TestMoveRefuses: a transition the table does not have leaves the status
// as it was, is said as a warning and kept in the outcome.
func TestMoveRefuses(t *testing.T) {
	t.Parallel()
	statuses := []Status{StatusNotStarted, StatusSkipped, dep, ok, fail, stop, ret, back, bad, unk, StatusLive}
	for _, from := range statuses {
		for _, to := range statuses {
			rec := &recorder{}
			r := &rollout{rep: rec, out: &Outcome{}}
			h := &HostOutcome{Host: Host{Name: "h1"}, Status: from}
			moved := r.move(h, to)
			require.Equal(t, canMove(from, to), moved, "%s → %s", from, to)
			if moved {
				require.Equal(t, to, h.Status)
				require.Equal(t, []Status{to}, h.trail)
				require.Empty(t, r.out.Refused)
				continue
			}
			require.Equal(t, from, h.Status, "a refused move keeps the status")
			require.Empty(t, h.trail)
			require.Len(t, r.out.Refused, 1)
			require.Contains(t, r.out.Refused[0], fmt.Sprintf("may not go from %q to %q", from, to))
			require.Equal(t, r.out.Refused, rec.warnings)
		}
	}
	// Final statuses go nowhere.
	for _, s := range []Status{StatusSkipped, back, bad, unk, StatusLive} {
		require.Empty(t, transitions[s], s)
	}
}

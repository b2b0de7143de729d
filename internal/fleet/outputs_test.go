package fleet

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReportsSayWhatServesLast: a host's line of hosts-result gives the
// color and image it serves at the rollout's end: its deploy's, its
// return's (an image the return does not name stays the one from before),
// or, for a host never touched, what it served before; previous is always
// what it served before the rollout.
func TestReportsSayWhatServesLast(t *testing.T) {
	t.Parallel()
	before := func() *HostResult { return &HostResult{Active: "blue", Image: "app:v1"} }
	o := &Outcome{Hosts: []*HostOutcome{
		{Host: Host{Name: "deployed"}, Status: StatusDeployed, Before: before(), Result: &HostResult{Active: "green", Image: "app:v2"}},
		{Host: Host{Name: "returned"}, Status: StatusRolledBack, Before: before(), Result: &HostResult{Active: "green", Image: "app:v2"}, Undo: &HostResult{Active: "blue"}},
		{Host: Host{Name: "untouched"}, Status: StatusNotStarted, Before: before()},
		{Host: Host{Name: "unread"}, Status: StatusNotStarted},
	}}
	type seen struct{ previous, active, image string }
	got := map[string]seen{}
	for _, r := range o.Reports() {
		got[r.Host] = seen{r.Previous, r.Active, r.Image}
	}
	require.Equal(t, map[string]seen{
		"deployed":  {"blue", "green", "app:v2"},
		"returned":  {"blue", "blue", "app:v1"},
		"untouched": {"blue", "blue", "app:v1"},
		"unread":    {},
	}, got)
}

// TestSkippedHostOutputs: a host skipped because it already ran the image
// has only its state from before (a status run) to give: its
// previous-color output is its live color (it did not switch now), and
// every other output is the status run's own.
func TestSkippedHostOutputs(t *testing.T) {
	t.Parallel()
	live := &HostResult{Active: "green", Outputs: map[string]string{"active-color": "green", "active-port": "8082", "previous-color": "blue"}}
	outputs := func(o *Outcome) map[string]string {
		got := map[string]string{}
		for _, kv := range o.Outputs() {
			got[kv[0]] = kv[1]
		}
		return got
	}
	got := outputs(&Outcome{Hosts: []*HostOutcome{{Host: Host{Name: "h1"}, Status: StatusSkipped, Before: live}}})
	require.Equal(t, "green", got["previous-color"], "a skipped host did not switch: its previous color is its live one")
	require.Equal(t, "green", got["active-color"])
	require.Equal(t, "8082", got["active-port"])

	// A host not started (a failed rollout) that serves the same: its
	// state is not a skip, its status run's previous-color stands.
	got = outputs(&Outcome{Hosts: []*HostOutcome{{Host: Host{Name: "h1"}, Status: StatusNotStarted, Before: live}}})
	require.Equal(t, "blue", got["previous-color"])

	// A deployed host's own result says its previous color, even when its
	// result is the same as its state before.
	got = outputs(&Outcome{Hosts: []*HostOutcome{{Host: Host{Name: "h1"}, Status: StatusSkipped, Before: &HostResult{Active: "green"}, Result: live}}})
	require.Equal(t, "blue", got["previous-color"])
}

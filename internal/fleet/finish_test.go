package fleet

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// TestFinishDetails: a failed rollout's error says, line by line, what
// became of each host: the failed host's own undo, which hosts went back
// (or failed to, or had nothing to go back to, or could not be read),
// which keep the new version under fleet-failure stop, which were never
// started, and nothing about a group that is empty.
func TestFinishDetails(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		hosts  func(map[string]*fakeHost)
		policy config.FleetFailure
		want   []string
	}{
		{
			name:   "stop after host 1 switched: it keeps the new version, host 3 not started",
			hosts:  func(h map[string]*fakeHost) { h["h2"].failDeploy = true },
			policy: config.FleetStop,
			want: []string{
				"On h2: Removed the new color app-green; nginx still serves blue.",
				"fleet-failure is stop: h1 keep the new version.",
				"Not started: h3.",
			},
		},
		{
			name:   "stop at the first host: no host keeps anything",
			hosts:  func(h map[string]*fakeHost) { h["h1"].failDeploy = true },
			policy: config.FleetStop,
			want: []string{
				"On h1: Removed the new color app-green; nginx still serves blue.",
				"Not started: h2, h3.",
			},
		},
		{
			name:  "rollback after two switched: both go back, every host was started",
			hosts: func(h map[string]*fakeHost) { h["h3"].failDeploy = true },
			want: []string{
				"On h3: Removed the new color app-green; nginx still serves blue.",
				"Returned to their previous color: h1 (green → blue), h2 (green → blue).",
			},
		},
		{
			name:  "rollback at the first host: none had switched",
			hosts: func(h map[string]*fakeHost) { h["h1"].failDeploy = true },
			want: []string{
				"On h1: Removed the new color app-green; nginx still serves blue.",
				"No host had switched; every host serves what it served before.",
				"Not started: h2, h3.",
			},
		},
		{
			name: "a return that fails",
			hosts: func(h map[string]*fakeHost) {
				h["h1"].failRollback = true
				h["h2"].failDeploy = true
			},
			want: []string{
				"On h2: Removed the new color app-green; nginx still serves blue.",
				"Returning to the previous color FAILED on h1 (no containers); run mode: rollback there.",
				"Not started: h3.",
			},
		},
		{
			name: "a first deploy has nothing to go back to",
			hosts: func(h map[string]*fakeHost) {
				for _, fh := range h {
					fh.active, fh.image = "", ""
				}
				h["h2"].failDeploy = true
			},
			want: []string{
				"On h2: Removed the new color app-green; nginx still serves blue.",
				"h1 had no previous color (a first deploy) and keep serving the new version.",
				"Not started: h3.",
			},
		},
		{
			name: "a host that cannot be read after its lost run",
			hosts: func(h map[string]*fakeHost) {
				h["h1"].lost = true
				h["h1"].statusFailsLater = true
			},
			want: []string{
				"Could not tell whether h1 (the helper on the host exited with code 1 without sending its result back) switched; check with mode: status.",
				"Not started: h2, h3.",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			hosts := threeOnBlue()
			c.hosts(hosts)
			drv := newFake(newImage, hosts)
			policy := c.policy
			if policy == "" {
				policy = config.FleetRollback
			}
			out := rollWithin(t, func() *Outcome {
				return Rollout(context.Background(), hostsOf("h1", "h2", "h3"), drv, Options{Image: newImage, Failure: policy, Report: quiet(), clock: fakeClock()})
			})
			var fe *Error
			require.ErrorAs(t, out.Err, &fe)
			require.Equal(t, c.want, fe.Details, out.Err.Error())
		})
	}
}

//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/fleet"
)

// TestFleetCanary: fleet-canary 1 across three hosts deploys the first
// host alone, holds it for canary-interval, judges it, then deploys the
// other two; a version that stops serving on the canary host during the
// hold sends it back, and the other hosts are never started.
func TestFleetCanary(t *testing.T) {
	e := newFleetEnv(t, 3)
	ctx := context.Background()
	r := e.deploy(ctx, t, "v1", e.version("v1", nil), map[string]string{"max-parallel": "3"}, nil)
	require.Equal(t, 0, r.code, r.out)

	canary := map[string]string{"fleet-canary": "1", "canary-interval": "3s"}
	r = e.deploy(ctx, t, "v2", e.version("v2", nil), canary, nil)
	require.Equal(t, 0, r.code, r.out)
	e.requireServes("v2")
	var order []string
	for _, line := range strings.Split(r.out, "\n") {
		for _, n := range e.names {
			if strings.Contains(line, "::group::Deploy to "+n) {
				order = append(order, n)
			}
		}
		if strings.Contains(line, "::group::Hold the canary hosts "+e.names[0]+" for 3s (fleet-canary)") {
			order = append(order, "hold")
		}
	}
	require.Equal(t, []string{e.names[0], "hold", e.names[1], e.names[2]}, order)

	// v3 exits on the canary host 6 s after it starts: after its own
	// deploy passed, inside the hold.
	r = e.deploy(ctx, t, "v3", e.version("v3", map[int]string{0: "EXIT_AFTER=6s"}), map[string]string{"fleet-canary": "1", "canary-interval": "15s"}, nil)
	require.Equal(t, 1, r.code, r.out)
	require.Contains(t, r.out, "after the fleet-canary hold of 15s")
	require.Equal(t, []fleet.Status{fleet.StatusRolledBack, fleet.StatusNotStarted, fleet.StatusNotStarted}, results(hostsResult(t, r)))
	e.requireServes("v2")

}

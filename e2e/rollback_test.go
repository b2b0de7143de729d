//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/loadgen"
)

// TestRollbackUnderLoad: a deploy with keep-previous, then mode: rollback,
// while traffic flows. The previous version comes back through nginx with
// no failed request, and a second rollback rolls forward again.
func TestRollbackUnderLoad(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.deploy(nil, "VERSION=v1", "READY_AFTER=1s")
	require.Equal(t, 0, r.code, r.out)
	switches := []loadgen.Switch{{Version: "v1", Began: r.result.Started}}

	gen := startLoad(t, loadgen.Config{BaseURL: f.nginx.URL(""), MaxRequests: 50_000})
	time.Sleep(300 * time.Millisecond)
	r = f.deploy(map[string]string{"keep-previous": "true"}, "VERSION=v2", "READY_AFTER=1s")
	require.Equal(t, 0, r.code, r.out)
	switches = append(switches, switchOf(t, "v2", r))
	require.Len(t, f.running("blue"), 0)
	require.Len(t, f.all("blue"), 1, "blue is kept, stopped")

	back := f.deploy(map[string]string{"mode": "rollback"})
	require.Equal(t, 0, back.code, back.out)
	time.Sleep(300 * time.Millisecond)
	records := gen.Stop()
	t.Logf("rollback took %s\n%s", back.took, loadgen.Format(loadgen.Summary(records)))

	require.Equal(t, "blue", back.outputs["active-color"])
	require.Equal(t, "green", back.outputs["previous-color"])
	require.Equal(t, "true", back.outputs["rolled-back"])
	f.requireServes("v1", "blue")
	require.Len(t, f.all("green"), 1, "the rolled-back color is kept, stopped, so the rollback can be undone")
	require.Empty(t, f.running("green"))

	// v1 answers from its first switch to v2's drain and again after the
	// rollback: hold requests only to "no failure" and to v2's window.
	problems := loadgen.Check(records, []loadgen.Switch{switches[0], {Version: "v2", Began: switches[1].Began}})
	require.Empty(t, problems)

	// Rolling back again brings v2 back.
	again := f.deploy(map[string]string{"mode": "rollback"})
	require.Equal(t, 0, again.code, again.out)
	f.requireServes("v2", "green")
}

// TestRollbackWithoutKeptColor falls back to the history: the last good
// deploy is redeployed from the image it recorded.
func TestRollbackWithoutKeptColor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	removing := map[string]string{"keep-previous": "false"}
	first := f.deploy(removing, "VERSION=v1")
	require.Equal(t, 0, first.code)
	require.Equal(t, 0, f.deploy(removing, "VERSION=v2").code)
	r := f.deploy(map[string]string{"mode": "rollback"}, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "no kept previous color): redeploying the last good deploy "+first.outputs["deploy-id"])
	require.Equal(t, "blue", r.outputs["active-color"])
	f.requireServes("v1", "blue")
}

// TestStatusMode reports without touching anything.
func TestStatusMode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	before := f.include()
	r := f.deploy(map[string]string{"mode": "status"})
	require.Equal(t, 0, r.code, r.out)
	require.Equal(t, "blue", r.outputs["active-color"])
	require.Equal(t, itoa(f.bluePort), r.outputs["active-port"])
	require.Equal(t, before, f.include())
	require.NotContains(t, r.out, "==> Start")
}

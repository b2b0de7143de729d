package deploy_test

// The safety net, continued: rollback without a kept color, what a
// rollback records, retain-images and abort.

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
)

// TestRollbackFallsBackToTheHistory: with no kept color (keep-previous
// off, or a failed deploy before the fix), mode: rollback redeploys the
// last good deploy before the one serving, from the images it recorded.
func TestRollbackFallsBackToTheHistory(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	noKeep := map[string]string{"keep-previous": "false"}
	v1 := h.version("v1", noKeep) // blue
	h.version("v2", noKeep)       // green; blue removed
	require.False(t, h.eng.Exists("app-blue"))
	// A failed deploy of v3 is no rollback target.
	h.apps[color.Blue].status.Store(503)
	h.env["VERSION"] = "v3"
	_, err := h.run(context.Background(), noKeep)
	require.Error(t, err)
	h.apps[color.Blue].status.Store(200)

	h.rec = &deploytest.Reporter{}
	back := h.must(map[string]string{"mode": "rollback"})
	assert.True(t, back.RolledBack)
	assert.Equal(t, v1.DeployID, back.RollbackTo, "the last good deploy before the one serving")
	assert.Equal(t, color.Blue, back.Active)
	assert.Equal(t, deploytest.ImageID("app:v1"), back.Images["web"].ID, "v1's image runs again")
	assert.False(t, back.Images["web"].Pulled, "the image was on the host: this run did not bring it")
	assert.Contains(t, h.rec.String(), "app-blue has no containers (no kept previous color): redeploying the last good deploy "+v1.DeployID)
	assert.Contains(t, h.rec.String(), "starting app-blue: service web, image "+deploytest.ImageID("app:v1")+",", "the traffic service's recorded image, by id")
}

// TestRollbackWithNothingInTheHistorySaysWhatItHolds: "nothing to roll
// back to" only when the history has no other good deploy, and it says
// what the history holds.
func TestRollbackWithNothingInTheHistorySaysWhatItHolds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v1 := h.version("v1", map[string]string{"keep-previous": "false"})
	before := len(h.eng.Calls())
	_, err := h.run(context.Background(), map[string]string{"mode": "rollback"})
	require.ErrorIs(t, err, deploy.ErrNoRollback)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Err.Error(), "app-green has no containers (no kept previous color), and the history")
	assert.Contains(t, pe.Err.Error(), "1 run(s) recorded, newest first: "+v1.DeployID+" deploy succeeded")
	assert.Empty(t, h.eng.Calls()[before:], "nothing was touched")
}

// TestAKeptColorRollbackRecordsNoImageAsPulled: a rollback that starts
// the kept color brought no image to the host, so retain-images may never
// count its images as the action's to remove.
func TestAKeptColorRollbackRecordsNoImageAsPulled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.version("v1", nil)
	h.version("v2", nil)
	back := h.must(map[string]string{"mode": "rollback"})
	require.NotEmpty(t, back.Images)
	for svc, img := range back.Images {
		assert.False(t, img.Pulled, svc)
	}
	entries, _, err := h.hist.Entries()
	require.NoError(t, err)
	last := entries[len(entries)-1]
	assert.Equal(t, "rollback", last.Mode)
	for svc, img := range last.Images {
		assert.False(t, img.Pulled, "history entry of the rollback, service %s", svc)
	}
}

// TestRetainImagesKeepsWhatTheHistoryMayRollBackTo is the case:
// deploy v1, v2, roll back, five more deploys, and v1 (a local build, no
// digest to pull it by) is still on the host, as are all images of the
// deploys in the history; only images with a digest are removed.
func TestRetainImagesKeepsWhatTheHistoryMayRollBackTo(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	retain := map[string]string{"retain-images": "1", "keep-previous": "false"}
	v1 := h.version("v1", retain)
	require.True(t, v1.Images["web"].Pulled, "the fake's pull brought it")
	require.Empty(t, v1.Images["web"].Digest)
	h.version("v2", map[string]string{"retain-images": "1"})
	h.must(map[string]string{"mode": "rollback", "retain-images": "1"})
	for _, v := range []string{"v2", "v3", "v2", "v3", "v2"} {
		h.version(v, retain)
	}
	assert.True(t, h.eng.HasImage("app:v1"), "a deploy in the history ran it and it cannot be pulled again")
	assert.True(t, h.eng.HasImage("app:v3"))

	// With a digest to pull it again by, an older image may go.
	h2 := newHarness(t)
	h2.eng.PullDigests = true
	h2.version("v1", retain)
	for _, v := range []string{"v2", "v3"} {
		h2.version(v, retain)
	}
	assert.False(t, h2.eng.HasImage("app:v1"), "pullable again by digest: removed")
}

// TestAbortTouchesOnlyWhatAStageMade: with nothing staged, abort leaves
// the kept previous color alone; after a stage, it removes the staged
// containers and puts the kept copy back.
func TestAbortTouchesOnlyWhatAStageMade(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.version("v1", nil)
	h.version("v2", nil) // green serves, blue (v1) kept
	kept := h.eng.IDs("app-blue")

	h.rec = &deploytest.Reporter{}
	before := len(h.eng.Calls())
	h.must(map[string]string{"mode": "abort"})
	assert.Empty(t, h.eng.Calls()[before:], "nothing staged: nothing touched")
	assert.Equal(t, kept, h.eng.IDs("app-blue"), "the kept blue is still there")
	assert.Contains(t, h.rec.String(), "nothing is staged: app-blue holds no container a stage run made")

	h.env["VERSION"] = "v3"
	before = len(h.eng.Calls())
	h.must(map[string]string{"mode": "stage"})
	assert.Equal(t, calls("EnsureImages app-blue", "SetAside app-blue", "Up app-blue"), callStrings(h.eng.Calls()[before:]))
	h.rec = &deploytest.Reporter{}
	before = len(h.eng.Calls())
	h.must(map[string]string{"mode": "abort"})
	assert.Equal(t, calls("Remove app-blue", "PutBack app-blue"), callStrings(h.eng.Calls()[before:]))
	assert.Equal(t, kept, h.eng.IDs("app-blue"), "the kept blue is back")
	assert.Contains(t, h.rec.String(), "and put back the kept blue")

	// Staged, then promoted, then replaced: a stopped container that a
	// stage once made is a kept color now, not a staged one.
	h.env["VERSION"] = "v4"
	h.must(map[string]string{"mode": "stage"})
	h.must(map[string]string{"mode": "promote"}) // blue serves v4, green (v2) kept
	h.version("v5", nil)                         // green serves v5, blue (v4, staged once) kept
	kept = h.eng.IDs("app-blue")
	before = len(h.eng.Calls())
	h.must(map[string]string{"mode": "abort"})
	assert.Empty(t, h.eng.Calls()[before:])
	assert.Equal(t, kept, h.eng.IDs("app-blue"))
}

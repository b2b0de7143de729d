package deploy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
)

// TestFailedDeployOutputsWhatServes: after a deploy of v2 that fails its
// health check, every output names what still serves: blue, the image blue
// runs with its digest, and blue's deploy id; the summary says blue stays
// live and names this run apart.
func TestFailedDeployOutputsWhatServes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v1 := h.version("v1", nil) // blue serves app:v1
	require.Equal(t, color.Blue, v1.Active)
	h.eng.SetImage("app:v1", deploytest.ImageID("app:v1"), "app@sha256:1111111111111111111111111111111111111111111111111111111111111111")
	h.apps[color.Green].status.Store(503)
	h.env["VERSION"] = "v2"
	res, err := h.run(context.Background(), nil)
	require.Error(t, err)

	assert.Equal(t, "blue", output(res, "active-color"))
	assert.Equal(t, "app:v1", output(res, "image"), "the image that still serves, not the one that failed")
	assert.Equal(t, "app@sha256:1111111111111111111111111111111111111111111111111111111111111111", output(res, "image-digest"))
	assert.Equal(t, v1.DeployID, output(res, "deploy-id"), "the deploy still serving, not this run's")
	assert.NotEqual(t, v1.DeployID, res.DeployID)
	md := res.Summary("app")
	assert.Contains(t, md, "| Colors | **blue** stays live (nginx still serves it) |")
	assert.Contains(t, md, "| This run | `"+res.DeployID+"` |")
	assert.NotContains(t, md, "→ **blue**")
}

// TestStageOutputsTheActiveImage: mode stage reports the image that serves
// as image, the staged image apart, and the staged deploy's id (promote's
// deploy-id input).
func TestStageOutputsTheActiveImage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.version("v1", nil) // blue serves app:v1
	h.env["VERSION"] = "v2"
	res := h.must(map[string]string{"mode": "stage"})
	assert.Equal(t, "blue", output(res, "active-color"))
	assert.Equal(t, "app:v1", output(res, "image"), "what serves, not the staged image")
	assert.Equal(t, "app:v2", res.StagedImage)
	assert.Equal(t, res.DeployID, output(res, "deploy-id"), "the staged deploy, for promote")
	assert.Contains(t, res.Summary("app"), "| Staged image | `app:v2` |")
}

// TestFailedRollbackOutputsWhatServes: a rollback with nothing kept to go
// back to leaves green serving, and says so, with green's image.
func TestFailedRollbackOutputsWhatServes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Green) // runs app:v0
	res, err := h.run(context.Background(), map[string]string{"mode": "rollback"})
	require.Error(t, err)
	assert.Equal(t, "green", output(res, "active-color"), "something serves, so active-color is set")
	assert.Equal(t, "app:v0", output(res, "image"))
	assert.NotContains(t, res.Summary("app"), "(none)")
}

// TestStatusNamesNoImageWhenNothingRuns: nginx points at blue but blue
// runs nothing: status names no image rather than the compose file's tag.
func TestStatusNamesNoImageWhenNothingRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.eng.Exit("app-blue", 137)
	res := h.must(map[string]string{"mode": "status"})
	assert.Equal(t, "blue", output(res, "active-color"), "nginx still points at blue")
	assert.Equal(t, "", output(res, "image"), "not app:v1 from the compose file: nothing runs")
}

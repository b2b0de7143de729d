package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
)

// must runs a deploy that has to succeed.
func (h *harness) must(inputs map[string]string) *deploy.Result {
	h.t.Helper()
	res, err := h.run(context.Background(), inputs)
	require.NoError(h.t, err)
	return res
}

// stageGreen leaves blue live and green staged, and returns the stage's
// result.
func stageGreen(t *testing.T, h *harness) *deploy.Result {
	t.Helper()
	h.must(nil) // blue
	res := h.must(map[string]string{"mode": "stage"})
	require.Equal(t, color.Green, res.Staged)
	return res
}

func TestStageStartsAndProvesWithoutSwitching(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.preview = deploytest.NewSwitch(nil)
	res := h.must(map[string]string{"mode": "stage"})
	assert.Equal(t, color.Green, res.Staged)
	assert.Equal(t, "http://"+h.upstream(color.Green), res.PreviewURL)
	assert.Equal(t, color.Blue, res.Active, "nginx still serves blue")
	assert.Equal(t, []string{"EnsureImages app-green", "Up app-green"}, callStrings(h.eng.Calls()))
	assert.Equal(t, []string{"RemoveStaleTemps "}, callStrings(h.sw.Calls()), "the include is untouched")
	assert.Equal(t, []string{"Switch green"}, callStrings(h.preview.Calls()), "the preview points at the staged color")
	assert.True(t, h.eng.Running("app-blue"))
	outputs := map[string]string{}
	for _, kv := range res.Outputs() {
		outputs[kv[0]] = kv[1]
	}
	assert.Equal(t, "green", outputs["staged-color"])
	assert.Equal(t, "blue", outputs["active-color"])
	entries, _, err := h.hist.Entries()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "stage", entries[0].Mode)
	assert.Equal(t, ledger.Succeeded, entries[0].Result)
}

func TestPromoteSwitchesToTheStagedDeploy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staged := stageGreen(t, h)
	before := len(h.eng.Calls())
	res := h.must(map[string]string{"mode": "promote", "deploy-id": staged.DeployID})
	assert.Equal(t, color.Green, res.Active)
	assert.Equal(t, color.Blue, res.Previous)
	assert.Equal(t, staged.DeployID, res.DeployID, "the promoted deploy keeps the stage's id")
	assert.Equal(t, []string{"Stop app-blue"}, callStrings(h.eng.Calls()[before:]), "green is not started again; blue is stopped")
	include, _ := h.sw.Include()
	assert.Contains(t, string(include), "deploy="+staged.DeployID)
	entries, _, err := h.hist.Entries()
	require.NoError(t, err)
	last := entries[len(entries)-1]
	assert.Equal(t, "promote", last.Mode)
	assert.Equal(t, "app:v1", last.Images["web"].Ref, "the promote records what it switched to")
	assert.False(t, last.Images["web"].Pulled, "the stage run brought the image; its entry says so")
}

// TestPromoteRefusesAColorNoStageMade: the idle color running without a
// stage's deploy id (started by hand, or by another tool) is not promoted
// for a deploy-id, and the error says what it is.
func TestPromoteRefusesAColorNoStageMade(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.eng.Run("app-green", "web", "app:v0")
	_, err := h.run(context.Background(), map[string]string{"mode": "promote", "deploy-id": "20200101T000000Z-abcdef"})
	require.ErrorIs(t, err, deploy.ErrStagedMismatch)
	assert.Contains(t, err.Error(), "app-green holds deploy one not made by a stage run, not 20200101T000000Z-abcdef (deploy-id)")
}

func TestPromoteRefusesAndChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(h *harness) map[string]string
		wantIs error
	}{
		{"nothing is staged", func(h *harness) map[string]string {
			h.must(nil)
			return map[string]string{"mode": "promote"}
		}, deploy.ErrNothingStaged},
		{"another deploy is staged", func(h *harness) map[string]string {
			stageGreen(t, h)
			return map[string]string{"mode": "promote", "deploy-id": "20200101T000000Z-abcdef"}
		}, deploy.ErrStagedMismatch},
		{"the staged color is not healthy any more", func(h *harness) map[string]string {
			stageGreen(t, h)
			h.apps[color.Green].status.Store(503)
			return map[string]string{"mode": "promote"}
		}, deploy.ErrStagedUnhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			inputs := tt.setup(h)
			engine, sw := len(h.eng.Calls()), len(h.sw.Calls())
			res, err := h.run(context.Background(), inputs)
			require.ErrorIs(t, err, tt.wantIs)
			var pe *deploy.PhaseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "Nothing was changed.", pe.Undone)
			assert.Equal(t, color.Blue, res.Active)
			assert.Empty(t, h.eng.Calls()[engine:], "no container was touched")
			assert.Equal(t, []string{"RemoveStaleTemps "}, callStrings(h.sw.Calls()[sw:]), "nginx was not touched")
		})
	}
}

func TestPromoteFailureLeavesTheStagedColor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	stageGreen(t, h)
	h.sw.Hook = failOn("Switch", "green")
	_, err := h.run(context.Background(), map[string]string{"mode": "promote"})
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, deploy.PhaseSwitch, pe.Kind)
	assert.Contains(t, pe.Undone, "was left running")
	assert.True(t, h.eng.Running("app-green"), "the staged color still runs")
	assert.True(t, h.eng.Running("app-blue"), "the live color still runs")
}

func TestAbortRemovesTheStagedColorOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staged := stageGreen(t, h)
	before := len(h.eng.Calls())
	_, err := h.run(context.Background(), map[string]string{"mode": "abort", "deploy-id": "20200101T000000Z-abcdef"})
	require.ErrorIs(t, err, deploy.ErrStagedMismatch, "a newer stage is not removed")
	res := h.must(map[string]string{"mode": "abort", "deploy-id": staged.DeployID})
	assert.Equal(t, color.Blue, res.Active)
	assert.Equal(t, []string{"Down app-green"}, callStrings(h.eng.Calls()[before:]))
	assert.True(t, h.eng.Running("app-blue"))
	res = h.must(map[string]string{"mode": "abort"})
	assert.Contains(t, h.log.String(), "nothing is staged", "aborting nothing succeeds")
	assert.Equal(t, color.Blue, res.Active)
}

func TestStagedFirstDeployIsPromoted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staged := h.must(map[string]string{"mode": "stage"})
	require.Equal(t, color.Blue, staged.Staged)
	_, exists := h.sw.Include()
	require.False(t, exists, "staging writes no include")
	res := h.must(map[string]string{"mode": "promote", "deploy-id": staged.DeployID})
	assert.Equal(t, color.Blue, res.Active)
	assert.Equal(t, color.None, res.Previous)
	assert.Contains(t, h.log.String(), "blue runs but nginx has no include yet: it is the staged first deploy")
}

// TestStagedFirstDeployIsAborted: abort on a host whose only color is a
// staged first deploy removes it, rather than taking it for live.
func TestStagedFirstDeployIsAborted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staged := h.must(map[string]string{"mode": "stage"})
	require.Equal(t, color.Blue, staged.Staged)
	before := len(h.eng.Calls())
	res := h.must(map[string]string{"mode": "abort"})
	assert.Equal(t, color.None, res.Active)
	assert.Equal(t, []string{"Down app-blue"}, callStrings(h.eng.Calls()[before:]))
	assert.False(t, h.eng.Exists("app-blue"))
}

// TestAbortThatFailsSaysWhatItLeft: an abort whose removal fails says so,
// and that nginx and the live color were not touched.
func TestAbortThatFailsSaysWhatItLeft(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	stageGreen(t, h)
	h.eng.Hook = failOn("Down", "app-green")
	_, err := h.run(context.Background(), map[string]string{"mode": "abort"})
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, deploy.PhaseStop, pe.Kind)
	require.ErrorIs(t, err, errInjected)
	assert.Equal(t, "nginx and the live color were not touched.", pe.Undone)
	assert.NotContains(t, h.log.String(), "removed the staged green")
}

// version deploys VERSION=v with keep-previous and returns the result.
func (h *harness) version(v string, extra map[string]string) *deploy.Result {
	h.t.Helper()
	h.env["VERSION"] = v
	inputs := map[string]string{"keep-previous": "true"}
	for k, val := range extra {
		inputs[k] = val
	}
	return h.must(inputs)
}

func TestRollbackToARecordedDeploy(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v1 := h.version("v1", nil) // blue
	h.version("v2", nil)       // green; blue kept (v1)
	v3 := h.version("v3", nil) // blue; green kept (v2)
	require.Equal(t, color.Blue, v3.Active)

	res := h.must(map[string]string{"mode": "rollback", "to": v1.DeployID})
	assert.Equal(t, color.Green, res.Active)
	assert.True(t, res.RolledBack)
	assert.Equal(t, v1.DeployID, res.RollbackTo)
	cs, err := h.eng.List(context.Background(), "app-green")
	require.NoError(t, err)
	web := serviceOf(cs, "web")
	assert.Equal(t, deploytest.ImageID("app:v1"), web.Image, "v1's image, by id, without a pull")
	assert.Equal(t, "app:v1", res.Image, "the result names the image the traffic container runs by the reference v1 recorded, never a bare id")
	assert.Equal(t, web.Image, res.ImageDigest, "and its id as the digest (the fake image has no repo digest)")
	assert.Equal(t, res.DeployID, output(res, "deploy-id"), "the rollback's own deploy serves")

	// Going back to the kept previous one starts it again.
	res = h.must(map[string]string{"mode": "rollback", "to": v3.DeployID})
	assert.Equal(t, color.Blue, res.Active)
	assert.Contains(t, callStrings(h.eng.Calls()), "Start app-blue")

	entries, _, err := h.hist.Entries()
	require.NoError(t, err)
	last := entries[len(entries)-1]
	assert.Equal(t, "rollback", last.Mode)
	assert.Equal(t, v3.DeployID, last.RollbackTo)
}

func TestRollbackToRefuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v1 := h.version("v1", nil)
	h.version("v2", nil)
	v3 := h.version("v3", nil)

	_, err := h.run(context.Background(), map[string]string{"mode": "rollback", "to": "20200101T000000Z-abcdef"})
	require.ErrorIs(t, err, deploy.ErrNoRollback)
	assert.Contains(t, err.Error(), "is not among")

	_, err = h.run(context.Background(), map[string]string{"mode": "rollback", "to": v3.DeployID})
	require.ErrorIs(t, err, deploy.ErrNoRollback)
	assert.Contains(t, err.Error(), "is the one serving")

	// v1's image is gone from the host and has no digest.
	require.NoError(t, h.eng.RemoveImage(context.Background(), "app:v1"))
	h.eng.DropImage(deploytest.ImageID("app:v1"))
	_, err = h.run(context.Background(), map[string]string{"mode": "rollback", "to": v1.DeployID})
	require.ErrorIs(t, err, deploy.ErrNoRollback)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, pe.Err.Error(), "are gone from this host")
	id := strings.TrimPrefix(deploytest.ImageID("app:v1"), "sha256:")
	assert.Contains(t, pe.Err.Error(), "web (app:v1, id "+id[:12]+")", "the image is named by its short id")
	assert.Contains(t, pe.Hint, "retain-images")
}

func TestRetainImagesRemovesOnlyOlderImagesThisActionPulled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.eng.PullDigests = true                        // pulled from a registry: can be pulled again
	h.eng.SetImage("worker:1", "sha256:worker", "") // on the host before any deploy
	var removed []string
	var last *deploy.Result
	for _, v := range []string{"v1", "v2", "v3", "v4"} {
		h.env["VERSION"] = v
		h.rec = &deploytest.Reporter{}
		last = h.must(map[string]string{"retain-images": "2"})
		removed = append(removed, last.RemovedImages...)
		said := false
		for _, l := range h.rec.Of("info") {
			if strings.HasPrefix(l, "removed ") && strings.Contains(l, "(retain-images)") {
				said = true
				assert.Equal(t, fmt.Sprintf("removed %d image(s) of deploys older than the last 2 (retain-images): %s", len(last.RemovedImages), strings.Join(last.RemovedImages, ", ")), l)
			}
		}
		assert.Equal(t, len(last.RemovedImages) > 0, said, "the log says what was removed, and only then (%s)", v)
	}
	assert.Equal(t, []string{"app:v1", "app:v2"}, removed, "each removal is reported once")
	assert.ElementsMatch(t, []string{"app:v4", "worker:1", "app:v3"}, last.RetainedImages, "the images of the last 2 deploys, each once")
	assert.False(t, h.eng.HasImage("app:v1"))
	assert.False(t, h.eng.HasImage("app:v2"))
	assert.True(t, h.eng.HasImage("app:v3"), "kept: the last 2 successful deploys")
	assert.True(t, h.eng.HasImage("app:v4"))
	assert.True(t, h.eng.HasImage("worker:1"), "never pulled by the action: never removed")
}

// TestRetainImagesKeepsWhatIsInUse: an image another container uses is
// kept, said in the log, and not reported removed.
func TestRetainImagesKeepsWhatIsInUse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.eng.PullDigests = true
	h.env["VERSION"] = "v1"
	h.must(nil)
	h.eng.Run("other", "x", "app:v1") // another project runs v1 too
	for _, v := range []string{"v2", "v3"} {
		h.env["VERSION"] = v
		h.rec = &deploytest.Reporter{}
		res := h.must(map[string]string{"retain-images": "1", "keep-previous": "false"})
		assert.NotContains(t, res.RemovedImages, "app:v1", v)
	}
	assert.True(t, h.eng.HasImage("app:v1"))
	found := false
	for _, l := range h.rec.Of("info") {
		if strings.HasPrefix(l, "    kept app:v1: ") && strings.Contains(l, "container other-x-1 uses it") {
			found = true
		}
	}
	assert.True(t, found, h.rec.String())
}

func TestHistoryMode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.version("v1", nil)
	h.apps[color.Green].status.Store(503)
	h.env["VERSION"] = "v2"
	_, err := h.run(context.Background(), nil)
	require.Error(t, err)
	res := h.must(map[string]string{"mode": "history"})
	require.Len(t, res.History, 2)
	assert.Equal(t, ledger.Succeeded, res.History[0].Result)
	assert.Equal(t, ledger.Failed, res.History[1].Result)
	assert.Equal(t, "health", res.History[1].FailedPhase)
	assert.Equal(t, "app:v1", res.History[0].Images["web"].Ref)
	var out []ledger.Entry
	require.NoError(t, json.Unmarshal([]byte(output(res, "history")), &out))
	assert.Len(t, out, 2)
	assert.Contains(t, res.Summary("app"), "| Deploy id | Time |")
}

// serviceOf returns the container of service among cs.
func serviceOf(cs []compose.Container, service string) compose.Container {
	for _, c := range cs {
		if c.Service == service {
			return c
		}
	}
	return compose.Container{}
}

// output returns the value of one of res's outputs.
func output(res *deploy.Result, name string) string {
	for _, kv := range res.Outputs() {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

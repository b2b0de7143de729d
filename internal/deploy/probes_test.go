package deploy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// phaseOf returns the run's first phase of kind.
func phaseOf(res *deploy.Result, kind deploy.PhaseKind) (deploy.Phase, bool) {
	for _, p := range res.Phases {
		if p.Kind == kind {
			return p, true
		}
	}
	return deploy.Phase{}, false
}

// TestHealthOptionsOnEveryProbe: health-host and health-headers go with
// every probe a run makes, whatever sends it: the start's wait, the
// staged color's check before a promote, the promote's wait, the hold of
// each canary step, the observation window and the check of an include
// nginx has not loaded. Each path is run and counted, so a probe that
// bypassed the configured checker would show up as a bare request.
func TestHealthOptionsOnEveryProbe(t *testing.T) {
	t.Parallel()
	const want = "app.example.com probe-s3cret"
	h := newHarness(t)
	h.inputs["health-host"] = "app.example.com"
	h.inputs["health-headers"] = "X-Probe-Token: probe-s3cret"
	seen := func() int { return len(h.apps[color.Blue].requests()) + len(h.apps[color.Green].requests()) }
	step := func(name string, inputs map[string]string, phase deploy.PhaseKind) {
		t.Helper()
		before := seen()
		res := h.must(inputs)
		_, ok := phaseOf(res, phase)
		require.True(t, ok, "%s: no %s phase in %v", name, phase, res.Phases)
		assert.Greater(t, seen(), before, "%s sent no probe", name)
	}

	step("start", nil, deploy.PhaseHealth)
	step("stage", map[string]string{"mode": "stage"}, deploy.PhaseHealth)
	step("promote", map[string]string{"mode": "promote"}, deploy.PhaseHealth)

	h.evidence = &deploytest.Evidence{Windows: []nginx.Evidence{window(80, 0, 20, 0)}}
	step("canary", map[string]string{"canary-steps": "20", "canary-interval": "50ms"}, deploy.PhaseCanary)
	step("observe", map[string]string{"observe-seconds": "0.1"}, deploy.PhaseObserve)

	h.sw.PendingLoad = true
	before := seen()
	h.must(map[string]string{"mode": "status"}) // reports only
	h.must(nil)                                 // reloads after a check of the color the include names
	require.Greater(t, seen(), before)

	for _, c := range color.All {
		for _, got := range h.apps[c].requests() {
			require.Equal(t, want, got, "a probe of %s without the health options", c)
		}
	}
}

package deploy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// canaryInputs are two quick steps.
var canaryInputs = map[string]string{"canary-steps": "10,50", "canary-interval": "30ms"}

// window is a step's evidence: blue and green requests and 5xx.
func window(blueReq, blueErr, greenReq, greenErr int64) nginx.Evidence {
	return nginx.Evidence{Blue: nginx.Stats{Requests: blueReq, Errors: blueErr}, Green: nginx.Stats{Requests: greenReq, Errors: greenErr}}
}

// canaryHarness is blue live (with a marker) and nginx's evidence scripted.
func canaryHarness(h *harness, windows ...nginx.Evidence) {
	h.live(color.Blue)
	h.withMarker(color.Blue)
	h.evidence = &deploytest.Evidence{Windows: windows}
}

// TestCanaryPhases: each rule of the canary against the fakes.
func TestCanaryPhases(t *testing.T) {
	t.Parallel()
	runPhaseCases(t, []phaseCase{
		{
			name:       "canary 10,50: each step is a checked switch, then the full switch, drain and stop",
			setup:      func(h *harness) { canaryHarness(h, window(90, 0, 10, 0), window(50, 0, 50, 0)) },
			inputs:     canaryInputs,
			wantActive: color.Green, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Stop app-blue"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch blue+green:50", "Switch green"),
			wantLog:    "step 50 % passed: blue 50 requests, 0 5xx, p95 0 ms; green 50 requests, 0 5xx, p95 0 ms",
			after: func(t *testing.T, h *harness) {
				prepared, read, removed := h.evidence.Counts()
				assert.Equal(t, []int{1, 2, 1}, []int{prepared, read, removed}, "prepared once, a window a step, the log removed")
				addrs := h.evidence.Addrs()
				assert.Equal(t, color.Blue, addrs[h.upstream(color.Blue)], "blue's address is blue's in the evidence")
				assert.Equal(t, color.Green, addrs[h.upstream(color.Green)])
			},
		},
		{
			name:     "a new color above the error rate is stopped at the first step; every request goes back on the old color",
			setup:    func(h *harness) { canaryHarness(h, window(900, 0, 100, 5)) },
			inputs:   canaryInputs,
			wantKind: deploy.PhaseCanary, wantIs: []error{deploy.ErrCanary, nginx.ErrCanaryFailed},
			wantErrText: "step 10 %: the canary failed on nginx's evidence: nginx answered 5 of green's 100 requests with 5xx (5.0 %), above the maximum error rate of 1.0 % " +
				"(evidence from nginx: blue 900 requests, 0 5xx, p95 0 ms; green 100 requests, 5 5xx, p95 0 ms); every request was put back on blue",
			wantUndone: "Removed the new color app-green. nginx still serves blue",
			wantActive: color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch blue"),
			wantDrain:  func(h *harness) []string { return calls("Drain ", "Drain "+h.upstream(color.Green)) },
			after: func(t *testing.T, h *harness) {
				assert.True(t, h.eng.Running("app-blue"), "blue was never stopped")
				inc, _ := h.sw.Include()
				assert.Contains(t, string(inc), "color=blue deploy=old (managed", "the include that served before, byte for byte")
				_, read, removed := h.evidence.Counts()
				assert.Equal(t, []int{1, 1}, []int{read, removed}, "the second step never ran; the log is removed")
			},
		},
		{
			name:       "the error rate is the canary-max-error-rate input: 5 % passes a limit of 10 %",
			setup:      func(h *harness) { canaryHarness(h, window(900, 0, 100, 5)) },
			inputs:     map[string]string{"canary-steps": "10", "canary-interval": "30ms", "canary-max-error-rate": "10%"},
			wantActive: color.Green, wantPrevious: color.Blue,
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch green"),
		},
		{
			name:     "the second step breaks the limit: back on blue from 50 %",
			setup:    func(h *harness) { canaryHarness(h, window(90, 0, 10, 0), window(50, 0, 50, 2)) },
			inputs:   canaryInputs,
			wantKind: deploy.PhaseCanary, wantIs: []error{deploy.ErrCanary},
			wantErrText: "step 50 %: the canary failed",
			wantActive:  color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch blue+green:50", "Switch blue"),
		},
		{
			name:       "no request reaches the new color and nothing failed: the step judges nothing, says so, and the deploy goes on",
			setup:      func(h *harness) { canaryHarness(h, window(0, 0, 0, 0)) },
			inputs:     canaryInputs,
			wantActive: color.Green, wantPrevious: color.Blue,
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch blue+green:50", "Switch green"),
			wantLog:    "step 10 %: no request reached green during 30ms, so nginx's evidence judges nothing",
		},
		{
			name:     "no request reaches the new color while the old one answers 5xx: inconclusive with errors fails",
			setup:    func(h *harness) { canaryHarness(h, window(40, 3, 0, 0)) },
			inputs:   canaryInputs,
			wantKind: deploy.PhaseCanary, wantIs: []error{deploy.ErrCanary},
			wantErrText: "no request reached green, and nginx answered 3 of blue's 40 requests with 5xx",
			wantActive:  color.Blue, wantPrevious: color.Blue,
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch blue"),
		},
		{
			name:     "the full switch after the steps fails: its restore put the last step back, so every request goes back on blue",
			setup:    func(h *harness) { canaryHarness(h, window(90, 0, 10, 0)); h.sw.Hook = failOn("Switch", "green") },
			inputs:   canaryInputs,
			wantKind: deploy.PhaseSwitch, wantIs: []error{deploy.ErrSwitch, errInjected},
			wantErrText: "injected failure; every request was put back on blue",
			wantActive:  color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch blue+green:50", "Switch green", "Switch blue"),
			after: func(t *testing.T, h *harness) {
				inc, _ := h.sw.Include()
				assert.Contains(t, string(inc), "color=blue deploy=old (managed")
				assert.NotContains(t, string(inc), "canary=")
				_, _, removed := h.evidence.Counts()
				assert.Equal(t, 1, removed)
			},
		},
		{
			name:     "a step nginx refuses: the switch restored the include, and nothing more is switched",
			setup:    func(h *harness) { canaryHarness(h); h.sw.Hook = failOn("Switch", "blue+green:10") },
			inputs:   canaryInputs,
			wantKind: deploy.PhaseCanary, wantIs: []error{deploy.ErrCanary, errInjected},
			wantErrText: "step 10 %: injected failure",
			wantActive:  color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10"),
		},
		{
			name: "the second step's switch fails: the include that served before comes back",
			setup: func(h *harness) {
				canaryHarness(h, window(90, 0, 10, 0))
				h.sw.Hook = failOn("Switch", "blue+green:50")
			},
			inputs:   canaryInputs,
			wantKind: deploy.PhaseCanary, wantIs: []error{deploy.ErrCanary},
			wantActive: color.Blue, wantPrevious: color.Blue,
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch blue+green:50", "Switch blue"),
		},
		{
			name: "the new color crashes during a step: the crash is the cause, every request back on blue",
			setup: func(h *harness) {
				canaryHarness(h)
				h.sw.Hook = func(_ context.Context, m, a string) error {
					if m == "Switch" && a == "blue+green:10" {
						h.eng.Exit("app-green", 3)
					}
					return nil
				}
			},
			inputs:   map[string]string{"canary-steps": "10", "canary-interval": "5s"},
			wantKind: deploy.PhaseCanary, wantIs: []error{deploy.ErrCanary},
			wantErrText: "exited with code 3",
			wantActive:  color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch blue"),
		},
		{
			name: "the new color fails its health check during a step",
			setup: func(h *harness) {
				canaryHarness(h)
				h.sw.Hook = func(_ context.Context, m, a string) error {
					if m == "Switch" && a == "blue+green:10" {
						h.apps[color.Green].status.Store(503)
					}
					return nil
				}
			},
			inputs:   map[string]string{"canary-steps": "10", "canary-interval": "5s"},
			wantKind: deploy.PhaseCanary, wantIs: []error{deploy.ErrCanary},
			wantErrText: "503",
			wantActive:  color.Blue, wantPrevious: color.Blue,
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch blue"),
		},
		{
			name:     "nginx's evidence cannot be prepared: nothing is switched",
			setup:    func(h *harness) { canaryHarness(h); h.evidence.PrepareErr = nginx.ErrNoHTTPInclude },
			inputs:   canaryInputs,
			wantKind: deploy.PhaseCanary, wantIs: []error{deploy.ErrCanary, nginx.ErrNoHTTPInclude},
			wantHint:   "the canary is judged on nginx's own access log",
			wantActive: color.Blue, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps "),
		},
		{
			name:     "a target without evidence refuses canary-steps in preflight, before anything is touched",
			setup:    func(h *harness) { h.live(color.Blue); h.withMarker(color.Blue) },
			inputs:   canaryInputs,
			wantKind: deploy.PhasePreflight, wantIs: []error{deploy.ErrPreflight, config.ErrInvalid},
			wantErrText: "canary-steps: this target cannot read nginx's evidence",
			wantEngine:  calls(),
			wantSwitch:  calls(),
		},
		{
			name:  "a template that cannot choose per request refuses canary-steps in preflight, naming the directive",
			setup: func(h *harness) { canaryHarness(h) },
			inputs: map[string]string{"canary-steps": "10", "canary-interval": "30ms",
				"nginx-include-template": "location / { proxy_pass {{.URL}}; }\n"},
			wantKind: deploy.PhasePreflight, wantIs: []error{config.ErrInvalid},
			wantErrText: "canary-steps: nginx-include-template cannot send a share of requests to the new color",
			wantEngine:  calls(),
			wantSwitch:  calls(),
		},
		{
			name:       "a first deploy has no old color to compare with: it switches at once",
			setup:      func(h *harness) { h.evidence = &deploytest.Evidence{} },
			inputs:     canaryInputs,
			wantActive: color.Blue, wantPrevious: color.None,
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue"),
			wantLog:    "no old color to compare blue with, so canary-steps is skipped",
		},
		{
			name:       "rollback goes back at once, without steps",
			setup:      func(h *harness) { canaryHarness(h); h.kept(color.Green) },
			inputs:     map[string]string{"mode": "rollback", "canary-steps": "10", "canary-interval": "30ms"},
			wantActive: color.Green, wantPrevious: color.Blue, wantRolledBack: true,
			wantSwitch: calls("RemoveStaleTemps ", "Switch green"),
		},
	})
}

// TestCanaryCancelPutsEveryRequestBack: a deploy cancelled in the middle
// of a step ends with every request on the old color and the new color
// removed, within the clean-up bound.
func TestCanaryCancelPutsEveryRequestBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	canaryHarness(h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.sw.Hook = func(_ context.Context, m, a string) error {
		if m == "Switch" && a == "blue+green:10" {
			cancel()
		}
		return nil
	}
	res, err := h.run(ctx, map[string]string{"canary-steps": "10,50", "canary-interval": "1m"})
	require.ErrorIs(t, err, deploy.ErrCanary)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, calls("RemoveStaleTemps ", "Switch blue+green:10", "Switch blue"), callStrings(h.sw.Calls()))
	assert.Equal(t, calls("EnsureImages app-green", "Up app-green", "Down app-green"), callStrings(h.eng.Calls()))
	assert.Equal(t, color.Blue, res.Active)
	assert.Contains(t, err.Error(), "every request was put back on blue")
}

// TestCanarySummary: the job summary has a row per step with the share,
// requests and 5xx and p95 per color, and the step's result.
func TestCanarySummary(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	canaryHarness(h, window(90, 1, 10, 0), window(48, 0, 52, 3))
	res, err := h.run(context.Background(), canaryInputs)
	require.Error(t, err)
	require.Len(t, res.Canary, 2)
	s := res.Summary("app")
	assert.Contains(t, s, "| Share of green | blue requests | blue 5xx | blue p95 | green requests | green 5xx | green p95 | Result |")
	assert.Contains(t, s, "| 10 % | 90 | 1 | 0 ms | 10 | 0 | 0 ms | passed |")
	assert.Contains(t, s, "| 50 % | 48 | 0 | 0 ms | 52 | 3 | 0 ms | failed |")
	assert.Contains(t, s, "nginx answered 3 of green's 52 requests with 5xx")
	assert.Less(t, strings.Index(s, "Canary steps"), strings.Index(s, "| Phase |"))
}

// readWindow is nginx's evidence from log lines as nginx writes them:
// n requests of each color taking the given milliseconds, read by nginx's
// own reader.
func readWindow(t *testing.T, h *harness, n int, blueMS, greenMS int) nginx.Evidence {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "bg1 1765000000.%03d 200 0.%03d \"%s\" \"200\"\n", i, blueMS, h.upstream(color.Blue))
		fmt.Fprintf(&b, "bg1 1765000000.%03d 200 0.%03d \"%s\" \"200\"\n", i, greenMS, h.upstream(color.Green))
	}
	path := filepath.Join(t.TempDir(), "log.evidence")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	r := nginx.EvidenceReader{Path: path, Addrs: map[string]color.Color{h.upstream(color.Blue): color.Blue, h.upstream(color.Green): color.Green}}
	ev, _, err := r.Since(0)
	require.NoError(t, err)
	return ev
}

// TestCanaryLatencyRatio: canary-max-latency-ratio fails a new color
// whose p95 is above that many times the old color's, and only when set.
func TestCanaryLatencyRatio(t *testing.T) {
	t.Parallel()
	slow := func(t *testing.T, extra map[string]string) error {
		h := newHarness(t)
		canaryHarness(h)
		h.evidence.Windows = []nginx.Evidence{readWindow(t, h, 30, 20, 100)}
		in := map[string]string{"canary-steps": "10", "canary-interval": "30ms"}
		for k, v := range extra {
			in[k] = v
		}
		_, err := h.run(context.Background(), in)
		return err
	}
	err := slow(t, map[string]string{"canary-max-latency-ratio": "1.5"})
	require.ErrorIs(t, err, nginx.ErrCanaryFailed)
	require.ErrorContains(t, err, "green's p95 latency 100 ms is above 1.5 × blue's 20 ms")
	require.NoError(t, slow(t, map[string]string{"canary-max-latency-ratio": "6"}), "5 × slower passes a limit of 6")
	require.NoError(t, slow(t, nil), "no latency check by default")
}

// TestLeftoverCanaryIsSettledFirst: a canary step an interrupted deploy
// left (killed, so it could not put it back) is put back on the color
// that held the traffic before this run changes anything else; status
// only reports it.
func TestLeftoverCanaryIsSettledFirst(t *testing.T) {
	t.Parallel()
	leftover := func(h *harness) {
		canaryHarness(h)
		blue := nginx.TemplateData{Color: "blue", Host: "127.0.0.1", Port: h.apps[color.Blue].port, URL: "http://" + h.upstream(color.Blue), DeployID: "old"}
		green := nginx.TemplateData{Color: "green", Host: "127.0.0.1", Port: h.apps[color.Green].port, URL: "http://" + h.upstream(color.Green), DeployID: "killed"}
		inc, err := nginx.MustParseTemplate(nginx.DefaultTemplate).RenderCanary(nginx.Canary{Old: blue, New: green, Percent: 10, Name: "app"})
		require.NoError(t, err)
		h.sw.SetInclude(inc)
	}
	h := newHarness(t)
	leftover(h)
	res := h.must(map[string]string{"mode": "status"})
	assert.Contains(t, res.Serving, "blue (deploy old) with 10 % of requests on green (deploy killed)")
	assert.Empty(t, callStrings(h.sw.Calls()), "status changes nothing")

	h = newHarness(t)
	leftover(h)
	h.eng.Hook = failOn("Up", "app-green")
	_, err := h.run(context.Background(), nil)
	require.ErrorIs(t, err, errInjected)
	assert.Equal(t, calls("RemoveStaleTemps ", "Switch blue"), callStrings(h.sw.Calls()), "every request back on blue before anything else")
	inc, _ := h.sw.Include()
	assert.Contains(t, string(inc), "color=blue deploy=old (managed")
	assert.NotContains(t, string(inc), "canary=")
	assert.Contains(t, h.log.String(), "nginx serves a canary step that an interrupted deploy left")
}

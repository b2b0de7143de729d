package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
	"github.com/bluegreen-action/bluegreen/internal/health"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// TestObservePhases: deploys with observe-seconds, where the new color
// serves while the old one still runs, and nginx goes back to the old one
// when the new one fails.
func TestObservePhases(t *testing.T) {
	t.Parallel()
	runPhaseCases(t, []phaseCase{
		{
			name: "observe: switching back fails too; the error says nginx still points at the new color",
			setup: func(h *harness) {
				h.live(color.Blue)
				h.withMarker(color.Blue)
				h.sw.Hook = func(_ context.Context, m, a string) error {
					switch {
					case m == "Switch" && a == "green":
						h.apps[color.Green].status.Store(500)
					case m == "Switch" && a == "blue":
						return errInjected
					}
					return nil
				}
			},
			inputs:   map[string]string{"observe-seconds": "1"},
			wantKind: deploy.PhaseObserve, wantIs: []error{deploy.ErrObserve},
			wantUndone: "Switching nginx back to blue FAILED: injected failure; nginx still points at green",
			wantActive: color.Green, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green", "Switch blue"),
		},
		{
			name: "observe: the new color turns unhealthy; nginx goes back",
			setup: func(h *harness) {
				h.live(color.Blue)
				h.withMarker(color.Blue)
				h.sw.Hook = func(_ context.Context, m, a string) error {
					if m == "Switch" && a == "green" {
						h.apps[color.Green].status.Store(500)
					}
					return nil
				}
			},
			inputs:   map[string]string{"observe-seconds": "1"},
			wantKind: deploy.PhaseObserve, wantIs: []error{deploy.ErrObserve, health.ErrUnhealthy},
			wantUndone: "Switched nginx back to blue",
			wantActive: color.Blue, wantPrevious: color.Blue, wantRolledBack: true,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green", "Switch blue"),
			wantDrain:  func(h *harness) []string { return calls("Drain " + h.upstream(color.Green)) },
			after: func(t *testing.T, h *harness) {
				assert.True(t, h.eng.Running("app-blue"), "blue was never stopped")
			},
		},
		{
			name: "observe: the new color crashes; the error is the crash, not a health check",
			setup: func(h *harness) {
				h.live(color.Blue)
				h.withMarker(color.Blue)
				h.sw.Hook = func(_ context.Context, m, a string) error {
					if m == "Switch" && a == "green" {
						h.eng.Exit("app-green", 3)
					}
					return nil
				}
			},
			inputs:   map[string]string{"observe-seconds": "1"},
			wantKind: deploy.PhaseObserve, wantIs: []error{deploy.ErrObserve},
			wantErrText: "exited with code 3",
			wantActive:  color.Blue, wantPrevious: color.Blue, wantRolledBack: true,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Down app-green"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch green", "Switch blue"),
		},
		{
			name: "observe on a first deploy: nothing to go back to",
			setup: func(h *harness) {
				h.sw.Hook = func(_ context.Context, m, a string) error {
					if m == "Switch" && a == "blue" {
						h.apps[color.Blue].status.Store(500)
					}
					return nil
				}
			},
			inputs:   map[string]string{"observe-seconds": "1"},
			wantKind: deploy.PhaseObserve, wantIs: []error{deploy.ErrObserve},
			wantUndone: "Nothing was undone",
			wantActive: color.Blue, wantPrevious: color.None,
			wantEngine: calls("EnsureImages app-blue", "Up app-blue"),
			wantSwitch: calls("RemoveStaleTemps ", "Switch blue"),
		},
		{
			name:       "observe: a healthy new color stays",
			setup:      func(h *harness) { h.live(color.Blue) },
			inputs:     map[string]string{"observe-seconds": "0.1"},
			wantActive: color.Green, wantPrevious: color.Blue,
			wantEngine: calls("EnsureImages app-green", "Up app-green", "Stop app-blue"),
			wantLog:    "stayed healthy",
		},
	})
}

// TestDrainIsReported: the drain never fails a deploy (the switch is
// done), but one that stopped early or reached drain-timeout is a warning
// naming what still served; otherwise the log says when it was over.
func TestDrainIsReported(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		live    bool
		result  nginx.DrainResult
		err     error
		want    string // a line of the log
		warning bool
	}{
		{name: "over", live: true, result: nginx.DrainResult{Waited: 1500 * time.Millisecond}, want: "    nothing served by blue any more after 1.5s"},
		{name: "over, first deploy", result: nginx.DrainResult{Waited: 250 * time.Millisecond}, want: "    nginx's old workers exited after 250ms"},
		{name: "stopped early", live: true, err: errInjected, want: "drain of blue stopped early: injected failure", warning: true},
		{name: "stopped early, first deploy", err: errInjected, want: "drain of nginx's old workers stopped early: injected failure", warning: true},
		{name: "timed out", live: true, result: nginx.DrainResult{TimedOut: true, StillOpen: []string{"127.0.0.1:8081 (2 connections)", "nginx worker 42"}},
			want: "drain-timeout 30s reached while still open: 127.0.0.1:8081 (2 connections), nginx worker 42; going on anyway", warning: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.rec = &deploytest.Reporter{}
			if tt.live {
				h.live(color.Blue)
			}
			h.drain.Result, h.drain.Err = tt.result, tt.err
			h.must(map[string]string{"drain-timeout": "30s"})
			if tt.warning {
				assert.Equal(t, []string{tt.want}, h.rec.Of("warning"))
			} else {
				assert.Contains(t, h.rec.Of("info"), tt.want)
				assert.Empty(t, h.rec.Of("warning"))
			}
		})
	}
}

// TestObserveCountsItsProbes: a new color that stays healthy through the
// observation window is said to, with the count of probes that showed it.
func TestObserveCountsItsProbes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.rec = &deploytest.Reporter{}
	h.live(color.Blue)
	h.must(map[string]string{"observe-seconds": "0.1"})
	var probes int
	for _, l := range h.rec.Of("info") {
		if _, err := fmt.Sscanf(l, "    green stayed healthy for 100ms (%d probes)", &probes); err == nil {
			break
		}
	}
	assert.GreaterOrEqual(t, probes, 1, h.rec.String())
}

// TestFailedColorShowsItsLastLogLines: the last 100 lines of a failed new
// color's traffic container are shown, as untrusted text, under its name.
func TestFailedColorShowsItsLastLogLines(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.rec = &deploytest.Reporter{}
	var logs strings.Builder
	for i := 1; i <= 150; i++ {
		fmt.Fprintf(&logs, "line %d\n", i)
	}
	h.eng.LogText = logs.String()
	h.apps[color.Blue].status.Store(503)
	_, err := h.run(context.Background(), nil)
	require.Error(t, err)
	blocks := h.rec.Of("block")
	require.Len(t, blocks, 1)
	lines := strings.Split(strings.TrimSuffix(blocks[0], "\n"), "\n")
	assert.Equal(t, "Last log lines of app-blue-web-1 (blue)", lines[0])
	assert.Equal(t, "line 51", lines[1])
	assert.Equal(t, "line 150", lines[len(lines)-1])
	assert.Len(t, lines, 101)
}

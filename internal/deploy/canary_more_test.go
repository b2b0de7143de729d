package deploy_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// TestCanaryUpstreamHasBothColorsServers: with an upstream template, a
// step's include has one upstream holding the old color's server and
// every replica of the new color's traffic service, each found as the
// colors run.
func TestCanaryUpstreamHasBothColorsServers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	canaryHarness(h, window(90, 0, 10, 0))
	port, _ := twoApps(t)
	h.inputs["green-port"] = strconv.Itoa(port)
	h.inputs["blue-compose-file"] = h.file("blue.yml", harnessCompose)
	h.inputs["green-compose-file"] = h.file("green.yml", fmt.Sprintf("services:\n  web:\n    image: app:v1\n    scale: 2\n    ports: [\"%d-%d:8080\"]\n", port, port+1))
	_, err := h.run(context.Background(), map[string]string{"canary-steps": "10", "canary-interval": "30ms",
		"nginx-include-template": "upstream app { {{range .Servers}}server {{.Host}}:{{.Port}}; # {{.ContainerName}}\n{{end}}}\n"})
	require.NoError(t, err)
	log := h.log.String()
	start := strings.Index(log, "step 10 %: writing")
	end := strings.Index(log, "10 % of requests on green")
	require.True(t, start >= 0 && end > start, "the step's include is in the log:\n%s", log)
	step := log[start:end]
	assert.Contains(t, step, fmt.Sprintf("server 127.0.0.1:%d;", h.apps[color.Blue].port), "blue's server")
	assert.Contains(t, step, fmt.Sprintf("server 127.0.0.1:%d;", port), "green's first replica")
	assert.Contains(t, step, fmt.Sprintf("server 127.0.0.1:%d;", port+1), "green's second replica")
}

// TestCanaryStepWaitsForTheOldWorkersBriefly: before a step's window
// opens, the drain of nginx's workers of the step before gets a quarter
// of canary-interval, at most 2 s; putting every request back drains for
// drain-timeout.
func TestCanaryStepWaitsForTheOldWorkersBriefly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	canaryHarness(h, window(90, 0, 10, 0), window(50, 0, 50, 9))
	_, err := h.run(context.Background(), map[string]string{"canary-steps": "10,50", "canary-interval": "40ms", "drain-timeout": "7s"})
	require.Error(t, err)
	assert.Equal(t, []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 7 * time.Second}, h.drain.Caps(), "two steps, then back on blue")

	h = newHarness(t)
	canaryHarness(h, window(90, 0, 10, 0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.sw.Hook = func(_ context.Context, m, a string) error {
		if m == "Switch" && a == "blue+green:10" {
			go func() { // cancel the hold once the step's drain has run (at most 10 s on)
				for i := 0; i < 10000 && len(h.drain.Caps()) == 0; i++ {
					time.Sleep(time.Millisecond)
				}
				cancel()
			}()
		}
		return nil
	}
	_, err = h.run(ctx, map[string]string{"canary-steps": "10", "canary-interval": "1m"})
	require.ErrorIs(t, err, context.Canceled)
	require.NotEmpty(t, h.drain.Caps(), "the step drained nginx's old workers within 10 s")
	assert.Equal(t, 2*time.Second, h.drain.Caps()[0], "a quarter of a minute is more than 2 s")
}

// TestCanaryWarnsOfMalformedEvidence: lines of the evidence log nginx
// did not write in its format are not counted, and the step says how
// many there were; a clean log says nothing of it.
func TestCanaryWarnsOfMalformedEvidence(t *testing.T) {
	t.Parallel()
	const said = "line(s) nginx did not write in its format"
	h := newHarness(t)
	w := window(90, 0, 10, 0)
	w.Malformed = 2
	canaryHarness(h, w)
	h.must(map[string]string{"canary-steps": "10", "canary-interval": "30ms"})
	assert.Contains(t, h.log.String(), "the evidence log held 2 "+said)

	h = newHarness(t)
	canaryHarness(h, window(90, 0, 10, 0))
	h.must(map[string]string{"canary-steps": "10", "canary-interval": "30ms"})
	assert.NotContains(t, h.log.String(), said)
}

// TestPromoteWithCanaryIsCheckedInPreflight: a promote with canary-steps
// on a target without nginx's evidence is refused before anything is
// touched, as a deploy is.
func TestPromoteWithCanaryIsCheckedInPreflight(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	staged := stageGreen(t, h)
	engine, sw := len(h.eng.Calls()), len(h.sw.Calls())
	_, err := h.run(context.Background(), map[string]string{"mode": "promote", "deploy-id": staged.DeployID, "canary-steps": "10", "canary-interval": "30ms"})
	require.ErrorIs(t, err, config.ErrInvalid)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, deploy.PhasePreflight, pe.Kind)
	assert.ErrorContains(t, err, "canary-steps: this target cannot read nginx's evidence")
	assert.Empty(t, h.eng.Calls()[engine:], "nothing touched")
	assert.Empty(t, h.sw.Calls()[sw:], "nothing switched")
}

//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fleetCanaryCompose is fleetCompose without its per-host env file.
const fleetCanaryCompose = `services:
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    ports:
      - "${BLUEGREEN_PORT}:8080"
`

// TestFleetCanary: fleet-canary 1 across three hosts deploys the first
// host alone, holds it for canary-interval, judges it, then deploys the
// other two. A version that stops serving on the canary host during the
// hold is judged by the unit tests (TestFleetCanaryFailsTheRollout).
func TestFleetCanary(t *testing.T) {
	e := newFleetEnv(t)
	// The same project without the per-host env file (kept outside the
	// working directory, which the deploy now refuses).
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, "docker-compose.yml"), []byte(fleetCanaryCompose), 0o644))
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

}

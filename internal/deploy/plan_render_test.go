package deploy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
)

// TestTemplateThatDoesNotRenderStopsInPreflight: an include template that
// parses but does not render for a color's data is found with the
// files' problems, before anything is touched.
func TestTemplateThatDoesNotRenderStopsInPreflight(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	// The check with sample data (ports 8081 and 8082) passes; this
	// project's ports are others.
	h.inputs["nginx-include-template"] = "set $service_url {{.URL}}; {{if and (ne .Port 8081) (ne .Port 8082)}}{{index .Servers 5}}{{end}}\n"
	_, err := h.run(context.Background(), nil)
	require.ErrorIs(t, err, config.ErrInvalid)
	assert.ErrorContains(t, err, "nginx-include-template does not render for blue")
	assert.ErrorContains(t, err, "nginx-include-template does not render for green")
	assert.Empty(t, h.eng.Calls(), "nothing touched")
	assert.Empty(t, h.sw.Calls(), "nothing switched")
}

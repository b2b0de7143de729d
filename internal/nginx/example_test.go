package nginx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// examplesDir holds the copyable setups of examples/nginx-container.
var examplesDir = filepath.Join("..", "..", "examples", "nginx-container")

// TestExampleTemplates renders the user-network example's upstream
// template (a container name on a shared network) for both colors against
// goldens, reads the live color back with and without the marker, and
// checks that the starting includes the examples ship name no color, so
// that the first deploy starts blue without a warning.
func TestExampleTemplates(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile(filepath.Join(examplesDir, "user-network", "upstream.inc.tmpl"))
	require.NoError(t, err)
	tmpl, err := ParseTemplate(string(text))
	require.NoError(t, err)
	blue, green := goldenData()
	for _, d := range []TemplateData{blue, green} {
		got, err := tmpl.Render(d)
		require.NoError(t, err)
		golden := filepath.Join("testdata", "golden", "example-user-network."+d.Color+".inc")
		if *update {
			require.NoError(t, os.WriteFile(golden, got, 0o644))
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err, "run go test -update to create the golden files")
		assert.Equal(t, string(want), string(got))
		assert.Contains(t, string(got), "server "+d.ContainerName+":8080;")
		assert.Empty(t, ResolverWarnings(got, ""), "an upstream block needs no resolver")

		c, how, err := ParseLive(got, blue, green, tmpl)
		require.NoError(t, err)
		assert.Equal(t, d.Color, c.String())
		assert.Equal(t, "marker", how)
		c, how, err = ParseLive(markerLineRE.ReplaceAll(got, nil), blue, green, tmpl)
		require.NoError(t, err)
		assert.Equal(t, d.Color, c.String(), how)
	}

	for _, tt := range []struct {
		layout, include string
		tmpl            *Template
	}{
		{"host-network", "service-url.inc", MustParseTemplate(DefaultTemplate)},
		{"user-network", "upstream.inc", tmpl},
	} {
		b, err := os.ReadFile(filepath.Join(examplesDir, tt.layout, "nginx", "conf.d", tt.include))
		require.NoError(t, err)
		seedBlue, seedGreen := blue, green
		seedBlue.Port, seedGreen.Port = 8081, 8082 // the ports the examples' workflows use
		c, how, err := ParseLive(b, seedBlue, seedGreen, tt.tmpl)
		require.NoError(t, err)
		assert.Equal(t, color.None, c, "%s's starting include: %s", tt.layout, how)
	}
}

package nginx

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTemplateSizeLimits: a template of exactly MaxIncludeSize bytes is
// accepted, one byte more refused; a rendering (with its own marker) of
// exactly MaxIncludeSize bytes is written, one more refused.
func TestTemplateSizeLimits(t *testing.T) {
	t.Parallel()
	text := func(n int) string {
		head := "set $service_url {{.URL}};\n{{/* "
		tail := " */}}\n"
		return head + strings.Repeat("c", n-len(head)-len(tail)) + tail
	}
	_, err := ParseTemplate(text(MaxIncludeSize))
	require.NoError(t, err)
	_, err = ParseTemplate(text(MaxIncludeSize + 1))
	assert.ErrorContains(t, err, "it is 65537 bytes; an include may be at most 65536")

	blue, _ := goldenData()
	render := func(pad int) ([]byte, error) {
		tmpl, err := ParseTemplate("# bluegreen: color={{.Color}} deploy={{.DeployID}}\nset $service_url {{.URL}};\n# " + strings.Repeat("{{.URL}}", 20) + strings.Repeat("x", pad) + "\n")
		if err != nil {
			return nil, err
		}
		return tmpl.Render(blue)
	}
	small, err := render(100)
	require.NoError(t, err)
	pad := 100 + MaxIncludeSize - len(small)
	b, err := render(pad)
	require.NoError(t, err)
	assert.Len(t, b, MaxIncludeSize)
	_, err = render(pad + 1)
	assert.ErrorIs(t, err, errIncludeTooBig)
}

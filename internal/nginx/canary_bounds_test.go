package nginx

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCanaryPercentBounds: 0 and 100 are steps a canary may take (all on
// the old color, all on the new one); just outside them is refused.
func TestCanaryPercentBounds(t *testing.T) {
	t.Parallel()
	blue, green := goldenData()
	green.DeployID = "run-43"
	tmpl := MustParseTemplate(DefaultTemplate)
	for _, p := range []int{0, 1, 99, 100} {
		_, err := tmpl.RenderCanary(Canary{Old: blue, New: green, Percent: p})
		assert.NoError(t, err, "Percent %d", p)
	}
	for _, p := range []int{-1, 101} {
		_, err := tmpl.RenderCanary(Canary{Old: blue, New: green, Percent: p})
		assert.ErrorIs(t, err, ErrInvalidTemplateData, "Percent %d", p)
		assert.ErrorContains(t, err, "is not from 0 to 100")
	}
}

// TestCanaryIncludeSizeLimit: a canary include of exactly MaxIncludeSize
// bytes is written; one byte more is refused.
func TestCanaryIncludeSizeLimit(t *testing.T) {
	t.Parallel()
	blue, green := goldenData()
	green.DeployID = "run-43"
	render := func(pad int) ([]byte, error) {
		tmpl, err := ParseTemplate(DefaultTemplate + "# " + strings.Repeat("x", pad) + "\n")
		require.NoError(t, err)
		return tmpl.RenderCanary(Canary{Old: blue, New: green, Percent: 10})
	}
	small, err := render(100)
	require.NoError(t, err)
	pad := 100 + MaxIncludeSize - len(small)
	b, err := render(pad)
	require.NoError(t, err)
	assert.Len(t, b, MaxIncludeSize)
	_, err = render(pad + 1)
	assert.ErrorIs(t, err, ErrInvalidTemplate)
	assert.ErrorIs(t, err, errIncludeTooBig)
}

// TestFirstLine: an error quotes a directive's first line, cut after 120
// characters.
func TestFirstLine(t *testing.T) {
	t.Parallel()
	exact := strings.Repeat("a", 120)
	assert.Equal(t, exact, firstLine(exact+"\nsecond"))
	assert.Equal(t, exact+"…", firstLine(exact+"b"))
	assert.Equal(t, "short", firstLine("short\nrest"))
}

// TestCanaryLayoutsMustAgree: a template that renders upstream blocks for
// one color and a set for the other cannot be made into a canary.
func TestCanaryLayoutsMustAgree(t *testing.T) {
	t.Parallel()
	blue, green := goldenData()
	green.DeployID = "run-43"
	tmpl, err := ParseTemplate(`{{if eq .Color "green"}}upstream app { server {{.Host}}:{{.Port}}; }{{else}}set $service_url {{.URL}};{{end}}` + "\n")
	require.NoError(t, err)
	_, err = tmpl.RenderCanary(Canary{Old: blue, New: green, Percent: 10})
	require.ErrorIs(t, err, ErrCannotRender)
	assert.ErrorContains(t, err, "renders upstream blocks for one color only")
}

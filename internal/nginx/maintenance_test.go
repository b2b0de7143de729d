package nginx

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// TestMaintenanceGolden renders maintenance in front of the seed's include
// and of an upstream include, and gives back exactly the previous bytes.
func TestMaintenanceGolden(t *testing.T) {
	t.Parallel()
	blue, _ := goldenData()
	for _, tt := range []struct {
		name, tmpl, page string
	}{
		{"default", DefaultTemplate, "/etc/nginx/conf.d/service-url.inc.maintenance.html"},
		{"default-text", DefaultTemplate, ""},
		{"upstream", UpstreamTemplate("app_backend"), "/etc/nginx/conf.d/upstream.inc.maintenance.html"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prev, err := MustParseTemplate(tt.tmpl).Render(blue)
			require.NoError(t, err)
			b, err := RenderMaintenance(Maintenance{Previous: prev, PagePath: tt.page, HealthPath: "/healthz", RetryAfter: 2 * time.Minute, Name: "app"})
			require.NoError(t, err)
			golden(t, "maintenance-"+tt.name+".inc", b)
			back, err := PreviousInclude(b)
			require.NoError(t, err)
			assert.Equal(t, prev, back)
			m, found, err := ReadMarker(b)
			require.NoError(t, err)
			require.True(t, found)
			assert.Equal(t, Marker{Color: color.Blue, DeployID: "run-42", Maintenance: true}, m)
			if tt.tmpl == DefaultTemplate {
				c, _, err := ParseLive(b, blue, TemplateData{Color: "green", Host: "127.0.0.1", Port: 8082}, nil)
				require.NoError(t, err)
				assert.Equal(t, color.Blue, c)
			}
		})
	}
}

// TestMaintenancePreviousExactly: any previous include, an empty one and
// one without a marker (the seed's) included, comes back byte for byte; a
// damaged copy is refused rather than put back wrong.
func TestMaintenancePreviousExactly(t *testing.T) {
	t.Parallel()
	for _, prev := range []string{
		"set $service_url http://127.0.0.1:8081;",
		"# bluegreen: color=green deploy=x\nset $service_url http://127.0.0.1:8082;\n\n\n  # trailing comment",
	} {
		b, err := RenderMaintenance(Maintenance{Previous: []byte(prev), Color: color.Blue, DeployID: "d1"})
		require.NoError(t, err)
		back, err := PreviousInclude(b)
		require.NoError(t, err)
		assert.Equal(t, prev, string(back))
	}
	b, err := RenderMaintenance(Maintenance{Previous: []byte("set $service_url http://127.0.0.1:8081;\n"), Color: color.Blue})
	require.NoError(t, err)
	damaged := []byte(strings.Replace(string(b), "# bluegreen-previous: ", "# bluegreen-previous: QQ", 1))
	_, err = PreviousInclude(damaged)
	assert.ErrorIs(t, err, ErrNoPrevious)
	_, err = PreviousInclude([]byte("# bluegreen: color=blue deploy=x\nset $service_url http://127.0.0.1:8081;\n"))
	assert.ErrorIs(t, err, ErrNoPrevious, "a full include is not a maintenance include")
}

// TestMaintenanceRefuses: values that would break out of nginx's syntax,
// and an include that is already a canary or maintenance, are refused.
func TestMaintenanceRefuses(t *testing.T) {
	t.Parallel()
	prev := []byte("# bluegreen: color=blue deploy=x\nset $service_url http://127.0.0.1:8081;\n")
	for _, tt := range []struct {
		name string
		m    Maintenance
		want error
	}{
		{"health path with a variable", Maintenance{Previous: prev, HealthPath: "/h$x"}, ErrInvalidTemplateData},
		{"health path with a newline", Maintenance{Previous: prev, HealthPath: "/h\nreturn 200;"}, ErrInvalidTemplateData},
		{"relative page", Maintenance{Previous: prev, PagePath: "page.html"}, ErrInvalidTemplateData},
		{"page with a quote", Maintenance{Previous: prev, PagePath: `/a";.html`}, ErrInvalidTemplateData},
		{"no color known", Maintenance{Previous: []byte("set $service_url http://127.0.0.1:8081;\n")}, ErrInvalidTemplateData},
		{"already maintenance", Maintenance{Previous: []byte("# bluegreen: color=blue deploy=x mode=maintenance\n")}, ErrCannotRender},
		{"a canary", Maintenance{Previous: []byte("# bluegreen: color=blue deploy=x canary=green:10 next=y\n")}, ErrCannotRender},
	} {
		_, err := RenderMaintenance(tt.m)
		assert.ErrorIs(t, err, tt.want, tt.name)
	}
}

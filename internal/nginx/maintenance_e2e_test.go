//go:build e2e

package nginx

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

type answer struct {
	status     int
	retryAfter string
	body       string
}

func do(t *testing.T, method, url string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("a=b"))
	require.NoError(t, err)
	resp, err := frontDoor.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header.Get("Retry-After"), string(b)}
}

// TestRealMaintenanceServerContext: with the seed's include, maintenance
// answers every method 503 with Retry-After and the page; the health path
// and the marker still answer; "live" puts back the very bytes that served
// before, and blue answers again. Without a page, a plain default.
func TestRealMaintenanceServerContext(t *testing.T) {
	t.Parallel()
	s := startReal(t, 0)
	ctx := context.Background()
	page := []byte("<html><body>Back at 10:00</body></html>\n")
	pagePath := MaintenancePagePath(s.nginx.IncludePath)
	require.NoError(t, WritePage(pagePath, page))

	for _, tt := range []struct {
		name, page, want string
	}{
		{"page", pagePath, string(page)},
		{"default", "", "Service temporarily unavailable for maintenance. Please try again later.\n"},
	} {
		b, err := RenderMaintenance(Maintenance{Previous: s.prev, PagePath: tt.page, HealthPath: "/healthz", RetryAfter: 30 * time.Second})
		require.NoError(t, err)
		r, err := s.sw.Switch(ctx, b)
		require.NoError(t, err, "%s: %s", tt.name, b)
		want := Marker{Color: color.Blue, DeployID: "test-blue", Maintenance: true}
		require.NoError(t, ConfirmMarker(ctx, FrontDoor{URL: s.nginx.URL("")}, want, 3, 10*time.Second))
		_, err = Drain(ctx, r, "", 10*time.Second)
		require.NoError(t, err)

		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			assert.Equal(t, answer{503, "30", tt.want}, do(t, method, s.nginx.URL("/orders/1")), "%s %s", tt.name, method)
		}
		assert.Equal(t, answer{200, "", "blue"}, do(t, http.MethodGet, s.nginx.URL("/healthz")), "the health path must reach the app")
		assert.Equal(t, 404, do(t, http.MethodGet, s.nginx.URL(maintenancePath)).status, "the page's internal URI is not public")

		prev, err := PreviousInclude(s.include(t))
		require.NoError(t, err)
		require.Equal(t, s.prev, prev, "live must put back exactly what served before")
		_, err = s.sw.Switch(ctx, prev)
		require.NoError(t, err)
		require.NoError(t, ConfirmMarker(ctx, FrontDoor{URL: s.nginx.URL("")}, Marker{Color: color.Blue, DeployID: "test-blue"}, 3, 10*time.Second))
		assert.Equal(t, s.prev, s.include(t))
	}
	assert.Equal(t, "blue", get(t, s.nginx.URL("/")))
}

// TestRealMaintenanceUpstreamLayout: an upstream include in http context
// cannot branch, so maintenance points the upstream at a small server of
// the include's own on a unix socket; answers are 503 with Retry-After and
// the page, the health path reaches the app, and live restores the bytes.
func TestRealMaintenanceUpstreamLayout(t *testing.T) {
	t.Parallel()
	tmpl := MustParseTemplate(UpstreamTemplate("app_backend"))
	prefix := t.TempDir()
	inc := filepath.Join(prefix, "upstream.inc")
	blue := newColorServer(t, color.Blue, 0)
	prev := mustRender(t, tmpl, blue.data)
	require.NoError(t, os.WriteFile(inc, prev, 0o644))
	n := startNginx(t, testenv.NginxOptions{HTTP: "    include " + inc + ";\n", Server: upstreamServer})
	sw := &Switcher{IncludePath: inc, TestCmd: n.TestCmd(), ReloadCmd: n.ReloadCmd(), Logf: t.Logf}
	ctx := context.Background()
	page := []byte("<p>maintenance</p>\n")
	require.NoError(t, WritePage(MaintenancePagePath(inc), page))

	b, err := RenderMaintenance(Maintenance{Previous: prev, PagePath: MaintenancePagePath(inc), HealthPath: "/healthz",
		SocketPath: filepath.Join(prefix, "maint.sock"), Name: "app"})
	require.NoError(t, err)
	r, err := sw.Switch(ctx, b)
	require.NoError(t, err, "%s", b)
	_, err = Drain(ctx, r, "", 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, answer{503, "60", string(page)}, do(t, http.MethodPost, n.URL("/x")))
	assert.Equal(t, answer{503, "60", string(page)}, do(t, http.MethodGet, n.URL("/")))
	assert.Equal(t, answer{200, "", "blue"}, do(t, http.MethodGet, n.URL("/healthz")))

	back, err := PreviousInclude(b)
	require.NoError(t, err)
	require.Equal(t, prev, back)
	r, err = sw.Switch(ctx, back)
	require.NoError(t, err)
	_, err = Drain(ctx, r, "", 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "blue", get(t, n.URL("/")))
}

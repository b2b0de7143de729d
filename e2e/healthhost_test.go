//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// demandingApp is the test app as real apps are deployed: it may refuse
// any Host header but its own (Django's ALLOWED_HOSTS) and may serve only
// TLS with a self-signed certificate.
const demandingApp = `services:
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION:-v1}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
      ALLOWED_HOST: ${ALLOWED_HOST:-}
      TLS: ${TLS:-0}
    ports:
      - "${BLUEGREEN_PORT}:8080"
`

// getAs fetches path through nginx's front door with the Host header host.
func (f *fixture) getAs(host, path string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.nginx.URL(path), nil)
	require.NoError(f.t, err)
	req.Host = host
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	require.NoError(f.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// TestHealthHost: an app that answers 400 to any other Host header fails
// its health check on 127.0.0.1 and deploys with health-host; the extra
// headers' values never reach the log, and a misspelt input is named.
func TestHealthHost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"docker-compose.yml": demandingApp})
	const host, token = "app.example.com", "e2e-health-token-5f1c"
	app := []string{"VERSION=v1", "ALLOWED_HOST=" + host}

	r := f.deploy(map[string]string{"health-retries": "5"}, app...)
	r.requireFailedIn(t, deploy.PhaseHealth)
	require.Contains(t, r.out, "HTTP 400")
	require.Contains(t, r.out, "invalid host", "the app's own answer is shown")

	inputs := map[string]string{
		"health-host":    host,
		"health-headers": "X-Health-Token: " + token,
		"helth-path":     "/health",
	}
	r = f.deploy(inputs, app...)
	require.Equal(t, 0, r.code, r.out)
	require.NotContains(t, r.out, token, "a health-headers value is a secret")
	require.Contains(t, r.out, `input "helth-path" is not an input of this action, so it is ignored: did you mean health-path?`)
	code, body := f.getAs(host, "/")
	require.Equal(t, 200, code, body)
	require.Equal(t, "version=v1 color="+r.outputs["active-color"], body)

	// The next deploy probes the other color with the same Host header.
	r = f.deploy(inputs, "VERSION=v2", "ALLOWED_HOST="+host)
	require.Equal(t, 0, r.code, r.out)
	code, body = f.getAs(host, "/")
	require.Equal(t, 200, code, body)
	require.Equal(t, "version=v2 color="+r.outputs["active-color"], body)
	code, _ = f.getAs("127.0.0.1", "/")
	require.Equal(t, 400, code, "the app still refuses other hosts: the probe passed only through health-host")
}

// TestHealthHTTPS: an app that serves only TLS with a self-signed
// certificate fails an https check that trusts no such certificate, and
// deploys with health-insecure-tls; nginx proxies to it over https. The
// app answers plain HTTP with 400, so a deploy that passes probed over TLS.
func TestHealthHTTPS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{"docker-compose.yml": demandingApp})
	f.inputs["nginx-include-template"] = strings.Replace(nginx.DefaultTemplate, "{{.URL}}", "https://{{.Host}}:{{.Port}}", 1)
	f.inputs["health-scheme"] = "https"

	r := f.deploy(map[string]string{"health-retries": "5"}, "VERSION=v1", "TLS=1")
	r.requireFailedIn(t, deploy.PhaseHealth)
	require.Contains(t, r.out, "the TLS certificate is not signed by a trusted authority (for a self-signed certificate set health-insecure-tls: true)")

	f.inputs["health-insecure-tls"] = "true"
	for _, version := range []string{"v1", "v2"} {
		r = f.deploy(nil, "VERSION="+version, "TLS=1")
		require.Equal(t, 0, r.code, r.out)
		f.requireServes(version, r.outputs["active-color"])
	}
}

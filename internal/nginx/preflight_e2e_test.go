//go:build e2e

package nginx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// startWithOthers is startReal's nginx with an http.d/*.conf pattern in
// http, where other projects' server blocks and includes live.
func startWithOthers(t *testing.T) (*realSetup, string) {
	t.Helper()
	s := startReal(t, 0)
	others := filepath.Join(s.nginx.Prefix, "http.d")
	require.NoError(t, os.MkdirAll(others, 0o755))
	conf, err := os.ReadFile(s.nginx.Conf)
	require.NoError(t, err)
	conf = []byte(replaceOnce(string(conf), "http {\n", "http {\n    include "+others+"/*.conf;\n"))
	require.NoError(t, os.WriteFile(s.nginx.Conf, conf, 0o644))
	return s, others
}

// TestRealPreflight: nginx -t runs before anything is touched. Another
// server block's missing certificate stops the deploy with nginx's own
// message and the file that names the certificate; another project's
// broken include is named with its line; a healthy config passes; a
// stopped nginx is reported as not running.
func TestRealPreflight(t *testing.T) {
	t.Parallel()
	s, others := startWithOthers(t)
	ctx := context.Background()
	require.NoError(t, s.sw.Preflight(ctx))

	other := filepath.Join(others, "shop.conf")
	require.NoError(t, os.WriteFile(other, []byte("server {\n    listen 127.0.0.1:1 ssl;\n    ssl_certificate /nonexistent/shop.pem;\n    ssl_certificate_key /nonexistent/shop.key;\n}\n"), 0o644))
	err := s.sw.Preflight(ctx)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.ErrorIs(t, err, ErrConfigBroken)
	assert.Equal(t, other, ce.File, "the file that wants the certificate")
	assert.Equal(t, 3, ce.Line)
	assert.False(t, ce.Ours)
	assert.Contains(t, err.Error(), `cannot load certificate "/nonexistent/shop.pem"`, "nginx's own words")
	assert.Contains(t, err.Error(), "a file this deploy does not manage")
	assert.NotErrorIs(t, err, ErrNotRunning)

	require.NoError(t, os.WriteFile(other, []byte("server {\n    listen 127.0.0.1:1;\n    bogus_directive on;\n}\n"), 0o644))
	err = s.sw.Preflight(ctx)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, other, ce.File)
	assert.Equal(t, 3, ce.Line)
	assert.Contains(t, err.Error(), `unknown directive "bogus_directive"`)

	require.NoError(t, os.Remove(other))
	require.NoError(t, s.sw.Preflight(ctx))
	s.nginx.Close()
	err = s.sw.Preflight(ctx)
	require.ErrorIs(t, err, ErrNotRunning)
	assert.Contains(t, err.Error(), "start nginx")
}

// TestRealSwitchFailureSaysWhatServes: issue 18's case. With another
// server's certificate missing, a switch fails at nginx -t; the message
// says the previous include is back, that the config is broken outside it,
// and, checked through the front door, that nginx still serves blue; never
// that restoring failed.
func TestRealSwitchFailureSaysWhatServes(t *testing.T) {
	t.Parallel()
	s, others := startWithOthers(t)
	s.sw.CheckAt = FrontDoor{URL: s.nginx.URL("")}
	require.NoError(t, os.WriteFile(filepath.Join(others, "shop.conf"),
		[]byte("server { listen 127.0.0.1:1 ssl; ssl_certificate /nonexistent/shop.pem; ssl_certificate_key /nonexistent/shop.key; }\n"), 0o644))

	_, err := s.sw.Switch(context.Background(), s.render(t, s.tmpl, s.green.data))
	require.ErrorIs(t, err, ErrConfigTest)
	assert.NotErrorIs(t, err, ErrRestoreFailed)
	var se *SwitchError
	require.True(t, errors.As(err, &se))
	assert.ErrorIs(t, se.StillFailing, ErrConfigTest)
	msg := err.Error()
	assert.Contains(t, msg, "the previous include was restored (nginx never loaded the new one)")
	assert.Contains(t, msg, "nginx -t fails with the previous include as well")
	assert.Contains(t, msg, "checked: the include holds blue (deploy test-blue); nginx answers blue (deploy test-blue) at "+s.nginx.URL(MarkerPath))
	assert.NotContains(t, msg, "failed too")
	assert.Equal(t, s.prev, s.include(t))
	assert.Equal(t, "blue", get(t, s.nginx.URL("/")))

	s.nginx.Close()
	v := s.sw.CheckServing(context.Background())
	assert.Equal(t, "the include holds blue (deploy test-blue); nginx is not running", v.String())
}

// TestRealPreflightOwnInclude: a broken include of this deploy is named as ours.
func TestRealPreflightOwnInclude(t *testing.T) {
	t.Parallel()
	n := testenv.StartNginx(t, testenv.NginxOptions{})
	sw := &Switcher{IncludePath: n.IncludePath, TestCmd: n.TestCmd(), ReloadCmd: n.ReloadCmd()}
	require.NoError(t, os.WriteFile(n.IncludePath, []byte("set $service_url http://127.0.0.1:1\n"), 0o644))
	err := sw.Preflight(context.Background())
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.True(t, ce.Ours)
	assert.Contains(t, err.Error(), "the include this deploy writes")
}

func replaceOnce(s, old, new string) string {
	i := strings.Index(s, old)
	if i < 0 {
		return s
	}
	return s[:i] + new + s[i+len(old):]
}

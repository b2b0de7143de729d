//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/cli"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// TestPreflightRefusesABrokenOrStoppedNginx: another server block whose
// certificate is missing, then a stopped nginx, stop the deploy in
// preflight with exit code 2, nginx's own words and the file and line to
// fix, before any container or the include is touched; the outputs still
// name the color that serves, and nothing says nginx serves it when nginx
// is not running.
func TestPreflightRefusesABrokenOrStoppedNginx(t *testing.T) {
	t.Parallel()
	prefix := t.TempDir()
	others := filepath.Join(prefix, "others")
	require.NoError(t, os.MkdirAll(others, 0o755))
	f := newFixtureWith(t, nil, testenv.NginxOptions{Prefix: prefix, HTTP: fmt.Sprintf("    include %s/*.conf;\n", others)})
	f.inputs["nginx-include-path"] = f.nginx.IncludePath
	r := f.deploy(nil, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	include := f.include()

	shop := filepath.Join(others, "shop.conf")
	require.NoError(t, os.WriteFile(shop, []byte("server {\n    listen 127.0.0.1:1 ssl;\n    ssl_certificate /nonexistent/shop.pem;\n    ssl_certificate_key /nonexistent/shop.key;\n}\n"), 0o644))
	r = f.deploy(nil, "VERSION=v2")
	require.Equal(t, cli.ExitInvalid, r.code, r.out)
	require.Contains(t, r.out, shop+":3")
	require.Contains(t, r.out, `cannot load certificate "/nonexistent/shop.pem"`)
	require.Empty(t, f.all("green"), "nothing was started")
	require.Equal(t, include, f.include(), "the include was not touched")
	require.Equal(t, "blue", r.outputs["active-color"], "blue still serves")
	require.Equal(t, f.image, r.outputs["image"])
	require.NotContains(t, r.out, "RESTORING")
	f.requireServes("v1", "blue")
	require.NoError(t, os.Remove(shop))

	f.nginx.Close()
	r = f.deploy(nil, "VERSION=v2")
	require.Equal(t, cli.ExitInvalid, r.code, r.out)
	require.Contains(t, r.out, "nginx is not running")
	require.NotContains(t, r.out, "still serves")
	require.Empty(t, f.all("green"), "nothing was started")
}

// TestFailedSwitchSaysWhatItChecked: a switch the nginx master rejects at
// reload (a listen on a port another process holds, which nginx -t
// passes) is undone, and the message says what nginx serves as checked
// afterwards, asked through verify-url: blue, the deploy before, and the
// outputs name blue and its image.
func TestFailedSwitchSaysWhatItChecked(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.inputs["verify-url"] = f.nginx.URL("")
	first := f.deploy(nil, "VERSION=v1")
	require.Equal(t, 0, first.code, first.out)
	holder, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer holder.Close()
	port := holder.Addr().(*net.TCPAddr).Port
	tmpl := nginx.DefaultTemplate + "listen 127.0.0.1:" + strconv.Itoa(port) + ";\n"
	r := f.deploy(map[string]string{"nginx-include-template": tmpl}, "VERSION=v2")
	r.requireFailedIn(t, deploy.PhaseSwitch)
	require.Contains(t, r.out, "checked: the include holds blue (deploy "+first.outputs["deploy-id"]+")")
	require.Contains(t, r.out, "nginx answers blue (deploy "+first.outputs["deploy-id"]+") at "+f.nginx.URL(nginx.MarkerPath))
	require.NotContains(t, r.out, "failed too")
	require.Equal(t, "blue", r.outputs["active-color"])
	require.Equal(t, f.image, r.outputs["image"])
	require.Equal(t, first.outputs["deploy-id"], r.outputs["deploy-id"], "the deploy still serving")
	f.requireSound("blue")
}

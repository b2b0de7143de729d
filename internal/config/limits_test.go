package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// Tests of the edges of each check: the last valid value and the first
// invalid one, so that a check that moves by one is caught.

func TestIsHostName(t *testing.T) {
	t.Parallel()
	label63 := strings.Repeat("a", 63)
	name253 := strings.Join([]string{label63, label63, label63, strings.Repeat("b", 61)}, ".")
	require.Len(t, name253, 253)
	for name, want := range map[string]bool{
		"az.AZ.example":        true,
		"z0-9.com":             true,
		"a.b-0.9z":             true,
		name253:                true,
		name253 + "c":          false,
		label63 + ".com":       true,
		label63 + "a.com":      false,
		"x`.com":               false, // just below a
		"x{.com":               false, // just above z
		"x@.com":               false, // just below A
		"x[.com":               false, // just above Z
		"x/.com":               false, // just below 0
		"x:.com":               false, // just above 9
		"-x.com":               false,
		"x-.com":               false,
		"x..com":               false,
		"":                     false,
		"10.0.0":               false,
		"host_name.example":    false,
		"host.docker.internal": true,
	} {
		require.Equal(t, want, isHostName(name), "%q", name)
	}
}

func TestIsToken(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"azAZ09":   true,
		"!x":       true, // the first of the other token characters
		"x~":       true, // the last
		"x`|^_.+-": true,
		"x{":       false, "x@": false, "x[": false, "x/": false, "x:": false, "x y": false, "x\"": false, "": false,
	} {
		require.Equal(t, want, isToken(name), "%q", name)
	}
}

func TestValidPort(t *testing.T) {
	t.Parallel()
	for port, want := range map[string]bool{
		"1": true, "65535": true, "08080": true, "0": false, "65536": false, "123456": false, "": false, "+80": false, "8o": false,
	} {
		require.Equal(t, want, validPort(port), "%q", port)
	}
}

func TestShown(t *testing.T) {
	t.Parallel()
	v60 := strings.Repeat("v", maxShownInputPrefix)
	require.Equal(t, `"`+v60+`"`, shown(v60))
	require.Equal(t, `"`+v60+`"…`, shown(v60+"w"))
	require.Equal(t, `"a\nb"`, shown("a\nb"))
}

func TestPortEdges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		blue, green string
		want        []string
	}{
		{"1", "65535", nil},
		{"0", "8082", []string{`blue-port "0" is not a TCP port: use a number from 1 to 65535`}},
		{"8081", "65536", []string{`green-port "65536" is not a TCP port`}},
	} {
		_, got := problems(t, map[string]string{"blue-port": tt.blue, "green-port": tt.green})
		requireProblem(t, got, tt.want...)
	}
	for in, want := range map[string]string{"tcp://10.0.1.12:1": "10.0.1.12:1", "tcp://10.0.1.12:65535": "10.0.1.12:65535"} {
		e, problem := ParseEndpoint(in)
		require.Empty(t, problem, in)
		require.Equal(t, want, e.String())
	}
	_, problem := ParseEndpoint("tcp://10.0.1.12:0")
	require.Contains(t, problem, "is not a TCP port (1 to 65535)")
}

// TestParseFleetOneKind: a fleet of one kind of endpoint needs only that
// kind's credentials.
func TestParseFleetOneKind(t *testing.T) {
	t.Parallel()
	_, got := problems(t, map[string]string{
		"hosts":         "tcp://10.0.1.13:2376",
		"docker-tls-ca": "ca", "docker-tls-cert": "cert", "docker-tls-key": "key",
	})
	requireProblem(t, got)
	_, got = problems(t, map[string]string{
		"hosts":           "ssh://deploy@10.0.1.11",
		"ssh-private-key": "key", "ssh-known-hosts": "10.0.1.11 ssh-ed25519 AAAA",
	})
	requireProblem(t, got)
}

func TestPreviewIncludePath(t *testing.T) {
	t.Parallel()
	cfg, got := problems(t, map[string]string{"nginx-preview-include-path": "preview.inc"})
	requireProblem(t, got)
	require.Equal(t, filepath.Join(cfg.WorkDir, "preview.inc"), cfg.Operate.PreviewIncludePath)

	_, got = problems(t, map[string]string{"nginx-preview-include-path": "/etc/nginx/conf.d/preview.inc", "nginx-container": "web", "nginx-include-path": "/etc/nginx/conf.d/service-url.inc"})
	requireProblem(t, got, "is not supported with nginx-container yet")

	include := filepath.Join(t.TempDir(), "service-url.inc")
	_, got = problems(t, map[string]string{"nginx-preview-include-path": include, "nginx-include-path": include})
	requireProblem(t, got, "is nginx-include-path: the preview needs an include of its own")
}

func TestCountAllowsZero(t *testing.T) {
	t.Parallel()
	cfg, got := problems(t, map[string]string{"retain-images": "0"})
	requireProblem(t, got)
	require.Zero(t, cfg.Operate.RetainImages)
}

func TestParseDurationLargest(t *testing.T) {
	t.Parallel()
	d, err := ParseDuration("9223372036")
	require.NoError(t, err)
	require.Equal(t, 9223372036*time.Second, d)
	_, err = ParseDuration("9223372037")
	require.ErrorContains(t, err, "out of range")
}

func TestWorkingDirectory(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	sub := filepath.Join(ws, "deploy")
	require.NoError(t, os.Mkdir(sub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "docker-compose.yml"), []byte("services: {}\n"), 0o644))
	cfg, err := Parse(env(map[string]string{
		"GITHUB_WORKSPACE":         ws,
		"INPUT_WORKING-DIRECTORY":  "deploy",
		"INPUT_NGINX-INCLUDE-PATH": filepath.Join(ws, "x.inc"),
	}), "/")
	require.NoError(t, err)
	require.Equal(t, sub, cfg.WorkDir)
	require.Equal(t, []string{filepath.Join(sub, "docker-compose.yml")}, cfg.Files[color.Blue])
}

func TestNormalizeProjectName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Zz09-_x":      "zz09-_x",
		"_-a.b c/d":    "abcd",
		"my`app{}@[/:": "myapp",
	} {
		require.Equal(t, want, normalizeProjectName(in), "%q", in)
	}
}

package nginx

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluegreen-action/bluegreen/internal/execx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseStmts: statements keep their exact text and argument spans,
// through quotes, comments, "${var}" and nested blocks.
func TestParseStmts(t *testing.T) {
	t.Parallel()
	text := "set $a \"x; y\"; # c {\nlocation / { return 200 \"${a}}\"; }\nmap $x $y { default 'q\\'r'; }\n"
	ss, err := parseStmts(text)
	require.NoError(t, err)
	require.Len(t, ss, 3)
	assert.Equal(t, `set $a "x; y";`, ss[0].raw(text))
	assert.Equal(t, []string{"$a", "x; y"}, ss[0].args)
	assert.Equal(t, `"x; y"`, text[ss[0].argSpans[1][0]:ss[0].argSpans[1][1]])
	assert.True(t, ss[1].hasBlock)
	assert.Equal(t, []string{"200", "${a}}"}, ss[1].block[0].args)
	assert.Equal(t, 2, ss[1].line)
	assert.Equal(t, "default", ss[2].block[0].name)
	assert.Equal(t, []string{"q'r"}, ss[2].block[0].args)

	for _, bad := range []string{"set $a 1", "location / { return 200;", "}", `set $a "x`} {
		_, err := parseStmts(bad)
		assert.Error(t, err, bad)
	}
	for _, s := range []string{"plain", "with space", `q"uote`, `back\slash`, "", "semi;colon", "{brace}"} {
		toks, err := tokenize(quoteArg(s))
		require.NoError(t, err)
		require.Len(t, toks, 1, quoteArg(s))
		assert.Equal(t, s, toks[0].text)
	}
}

// TestRewriteIncludes: absolute include paths point into the candidate;
// relative ones stay (they resolve against the candidate's main file).
func TestRewriteIncludes(t *testing.T) {
	t.Parallel()
	got, err := rewriteIncludes("http {\n  include /etc/nginx/conf.d/*.conf; # x\n  include mime.types;\n  server { include \"/srv/a b/x.inc\"; }\n}\n", "/tmp/c")
	require.NoError(t, err)
	assert.Equal(t, "http {\n  include /tmp/c/etc/nginx/conf.d/*.conf; # x\n  include mime.types;\n  server { include \"/tmp/c/srv/a b/x.inc\"; }\n}\n", got)
}

// TestCandidateTestCmd: the test command's config becomes the candidate's;
// its other flags stay.
func TestCandidateTestCmd(t *testing.T) {
	t.Parallel()
	got, ok := candidateTestCmd([]string{"/usr/sbin/nginx", "-p", "/srv", "-c", "/srv/nginx.conf", "-g", "daemon off;", "-t"}, "/tmp/c/srv/nginx.conf")
	require.True(t, ok)
	assert.Equal(t, []string{"/usr/sbin/nginx", "-p", "/srv", "-g", "daemon off;", "-t", "-c", "/tmp/c/srv/nginx.conf"}, got)
	got, ok = candidateTestCmd([]string{"sudo", "nginx", "-c/etc/nginx/nginx.conf", "-t"}, "/tmp/c/etc/nginx/nginx.conf")
	require.True(t, ok)
	assert.Equal(t, []string{"sudo", "nginx", "-t", "-c", "/tmp/c/etc/nginx/nginx.conf"}, got)
	_, ok = candidateTestCmd([]string{"/usr/local/bin/check-proxy"}, "/x")
	assert.False(t, ok)
}

// TestBuildCandidate: the dump's files land under the candidate with the
// include replaced, and the config directory's other files are linked.
func TestBuildCandidate(t *testing.T) {
	t.Parallel()
	etc := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(etc, "conf.d"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(etc, "tls"), 0o755))
	for _, f := range []string{"tls/cert.pem", "conf.d/notes.txt", "conf.d/service-url.inc"} {
		require.NoError(t, os.WriteFile(filepath.Join(etc, f), []byte("x"), 0o644))
	}
	inc := filepath.Join(etc, "conf.d", "service-url.inc")
	dump := "# configuration file " + etc + "/nginx.conf:\nhttp { include " + etc + "/conf.d/*.inc; ssl_certificate tls/cert.pem; }\n\n" +
		"# configuration file " + inc + ":\nset $service_url http://127.0.0.1:8081;\n"
	c, err := buildCandidate(t.TempDir(), dump, inc, []byte("set $service_url http://127.0.0.1:8082;\n"))
	require.NoError(t, err)
	defer c.remove()
	main, err := os.ReadFile(c.main)
	require.NoError(t, err)
	assert.Contains(t, string(main), "include "+c.root+etc+"/conf.d/*.inc;")
	got, err := os.ReadFile(filepath.Join(c.root, inc))
	require.NoError(t, err)
	assert.Equal(t, "set $service_url http://127.0.0.1:8082;\n", string(got))
	for _, f := range []string{"tls", "conf.d/notes.txt"} {
		target, err := os.Readlink(filepath.Join(c.root, etc, f))
		require.NoError(t, err, f)
		assert.Equal(t, filepath.Join(etc, f), target)
	}
	assert.Equal(t, "x", readFile(t, inc), "the live include was touched")
	assert.Equal(t, "nginx: [emerg] x in "+inc+":1", c.unroot("nginx: [emerg] x in "+c.root+inc+":1"))
}

// TestPreflightWithFakes: nginx -t's failure is read into a ConfigError
// naming the file and line (or, for a certificate, the file that names
// it); no master of ours running is ErrNotRunning.
func TestPreflightWithFakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	main := filepath.Join(dir, "nginx.conf")
	other := filepath.Join(dir, "shop.conf")
	require.NoError(t, os.WriteFile(main, []byte("http {\n  include "+dir+"/*.conf;\n}\n"), 0o644))
	require.NoError(t, os.WriteFile(other, []byte("server {\n  listen 443 ssl;\n  ssl_certificate /gone/shop.pem;\n}\n"), 0o644))
	for _, tt := range []struct {
		name, output, file string
		line               int
	}{
		{"named by nginx", "nginx: [emerg] unknown directive \"x\" in " + other + ":7\nnginx: configuration file " + main + " test failed", other, 7},
		{"certificate", "nginx: [emerg] cannot load certificate \"/gone/shop.pem\": BIO_new_file() failed\nnginx: configuration file " + main + " test failed", other, 3},
		{"unknown place", "nginx: [emerg] \x1b[31mno room\r\nnginx: configuration file " + main + " test failed", "", 0},
	} {
		s := newFakeSetup(t, oldInclude)
		s.nginx.onTest = func(int) error { return exitErr(s.sw.TestCmd, tt.output) }
		err := s.sw.Preflight(context.Background())
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, tt.name)
		assert.Equal(t, tt.file, ce.File, tt.name)
		assert.Equal(t, tt.line, ce.Line, tt.name)
		assert.NotContains(t, err.Error(), "\x1b", "control characters from nginx's output must not reach the log")
		assert.NotErrorIs(t, err, ErrNotRunning)
	}

	s := newFakeSetup(t, oldInclude)
	require.NoError(t, s.sw.Preflight(context.Background()))
	s.fs.remove(100)
	err := s.sw.Preflight(context.Background())
	require.ErrorIs(t, err, ErrNotRunning)
	assert.Contains(t, err.Error(), "nothing was changed")
}

// TestPreflightDumpServesShutdownTimeoutSet: Preflight tests the config
// with nginx -T, and what it printed answers ShutdownTimeoutSet,
// FindInclusion and FindFrontDoor without running nginx again; an nginx -T that fails with an exit code is the
// config's failure, read as nginx -t's.
func TestPreflightDumpServesShutdownTimeoutSet(t *testing.T) {
	t.Parallel()
	withDump := func(s *fakeSetup, dump string, fail bool) *[]string {
		var ran []string
		s.sw.Run = func(_ context.Context, args []string) (execx.Result, error) {
			ran = append(ran, strings.Join(args[len(args)-1:], " "))
			if fail {
				return execx.Result{}, exitErr(args, "nginx: [emerg] unknown directive \"x\" in /srv/a/nginx.conf:3\nnginx: configuration file /srv/a/nginx.conf test failed")
			}
			return execx.Result{Stdout: dump}, nil
		}
		return &ran
	}
	for _, tt := range []struct {
		dump string
		want bool
	}{
		{"events {}\nhttp {\n}\n", false},
		{"worker_shutdown_timeout 10s;\nhttp {}\n", true},
		{"# worker_shutdown_timeout 10s;\nhttp {}\n", false},
	} {
		s := newFakeSetup(t, oldInclude)
		ran := withDump(s, tt.dump, false)
		require.NoError(t, s.sw.Preflight(context.Background()))
		set, err := s.sw.ShutdownTimeoutSet(context.Background())
		require.NoError(t, err)
		assert.Equal(t, tt.want, set, tt.dump)
		_, err = s.sw.FindInclusion(context.Background(), s.path)
		require.NoError(t, err)
		_, _, err = s.sw.FindFrontDoor(context.Background(), s.path)
		require.NoError(t, err)
		assert.Equal(t, []string{"-T"}, *ran, "nginx ran once, as nginx -T, for all of them")
	}
	s := newFakeSetup(t, oldInclude)
	ran := withDump(s, "", true)
	var ce *ConfigError
	require.ErrorAs(t, s.sw.Preflight(context.Background()), &ce)
	assert.Equal(t, 3, ce.Line)
	assert.Equal(t, []string{"-T"}, *ran, "a config failure of -T is not run again as -t")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

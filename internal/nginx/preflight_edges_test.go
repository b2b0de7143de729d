package nginx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigErrorKeepsTenLines: of nginx -t's output, the first ten
// lines are kept (the "test failed" line aside).
func TestConfigErrorKeepsTenLines(t *testing.T) {
	t.Parallel()
	var out []string
	for i := 1; i <= 12; i++ {
		out = append(out, fmt.Sprintf("nginx: [warn] line %d", i))
	}
	out = append(out, "nginx: configuration file /srv/a/nginx.conf test failed")
	s := &Switcher{IncludePath: "/srv/a/x.inc"}
	err := s.configError(exitErr([]string{"nginx", "-t"}, strings.Join(out, "\n")))
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, out[:10], ce.Lines)
}

// TestSanitizeLineCut: a line is cut after 300 characters.
func TestSanitizeLineCut(t *testing.T) {
	t.Parallel()
	at := strings.Repeat("a", 300)
	assert.Equal(t, at, sanitizeLine(at))
	assert.Equal(t, at+"…", sanitizeLine(at+"b"))
	assert.Equal(t, "a b", sanitizeLine("\x1b\ra\x00b\r"))
}

// TestFindMentionReadsAtMost500Files: the search for the line that names a
// path follows includes through 500 files and no more.
func TestFindMentionReadsAtMost500Files(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name := func(i int) string { return filepath.Join(dir, fmt.Sprintf("f%03d.conf", i)) }
	for i := 0; i <= 500; i++ {
		text := fmt.Sprintf("include %s;\n", name(i+1))
		if i == 499 {
			text += "ssl_certificate_key /gone/499.key;\n"
		}
		if i == 500 {
			text = "ssl_certificate /gone/500.pem;\n"
		}
		require.NoError(t, os.WriteFile(name(i), []byte(text), 0o644))
	}
	f, n := findMention(name(0), "/gone/499.key")
	assert.Equal(t, name(499), f, "the 500th file is read")
	assert.Equal(t, 2, n)
	f, _ = findMention(name(0), "/gone/500.pem")
	assert.Empty(t, f, "the 501st file is not read")
}

// TestConfigErrorSaysWhere: the error names the file and, when known, the
// line; without a file, only what nginx said.
func TestConfigErrorSaysWhere(t *testing.T) {
	t.Parallel()
	lines := []string{"nginx: [emerg] bad"}
	assert.Contains(t, (&ConfigError{Lines: lines, File: "/srv/a/x.conf", Line: 7}).Error(), " in /srv/a/x.conf:7")
	e := (&ConfigError{Lines: lines, File: "/srv/a/x.conf"}).Error()
	assert.Contains(t, e, " in /srv/a/x.conf")
	assert.NotContains(t, e, "x.conf:")
	assert.NotContains(t, (&ConfigError{Lines: lines}).Error(), " in ")
}

// TestFindMentionNotFound: a config that names the path nowhere gives no
// place, after reading every file once.
func TestFindMentionNotFound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	main := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(main, []byte("include "+main+";\nevents { }\n"), 0o644))
	f, n := findMention(main, "/gone/x.pem")
	assert.Empty(t, f)
	assert.Zero(t, n)
}

// TestSamePath: the same path, or a link and its target, are the same
// file; missing or different files are not.
func TestSamePath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real := filepath.Join(dir, "real.inc")
	link := filepath.Join(dir, "link.inc")
	require.NoError(t, os.WriteFile(real, nil, 0o644))
	require.NoError(t, os.Symlink(real, link))
	assert.True(t, samePath("/gone/x.inc", "/gone/x.inc"))
	assert.True(t, samePath(link, real))
	assert.False(t, samePath("/gone/x.inc", "/gone/y.inc"))
	assert.False(t, samePath(real, filepath.Join(dir, "other.inc")))
	assert.False(t, samePath(real, dir))
}

// TestConfigErrorFindsTheQuotedPath: when nginx names no file, every
// quoted path of every line is looked up in the config, and a place in
// the deploy's include is marked as ours.
func TestConfigErrorFindsTheQuotedPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	main := filepath.Join(dir, "nginx.conf")
	inc := filepath.Join(dir, "service-url.inc")
	require.NoError(t, os.WriteFile(main, []byte("http {\n  include "+inc+";\n}\n"), 0o644))
	require.NoError(t, os.WriteFile(inc, []byte("set $x 1;\nssl_certificate /gone/b.pem;\n"), 0o644))
	s := &Switcher{IncludePath: inc}
	out := "nginx: [emerg] cannot load \"/gone/a.pem\"\n" +
		"nginx: [emerg] cannot load \"/gone/a.pem\" or \"/gone/b.pem\"\n" +
		"nginx: configuration file " + main + " test failed"
	var ce *ConfigError
	require.ErrorAs(t, s.configError(exitErr([]string{"nginx", "-t"}, out)), &ce)
	assert.Equal(t, inc, ce.File)
	assert.Equal(t, 2, ce.Line)
	assert.True(t, ce.Ours)
}

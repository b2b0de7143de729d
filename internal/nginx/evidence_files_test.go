package nginx

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/execx"
)

// TestEvidenceFiles: Prepare writes the log format where nginx reads it
// in http context (through HostPath, as for nginx in a container), names
// the log beside the include as nginx sees it, returns what a server
// include must repeat, and starts from no log; Mark, Since and Remove
// work on this process's view of the log.
func TestEvidenceFiles(t *testing.T) {
	t.Parallel()
	host := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(host, "conf.d"), 0o755))
	var ran []string
	sw := &Switcher{IncludePath: filepath.Join(host, "conf.d", "service-url.inc"), TestCmd: []string{"nginx", "-t"},
		Run: func(_ context.Context, args []string) (execx.Result, error) {
			ran = append(ran, strings.Join(args, " "))
			return execx.Result{Stdout: dumpWithHTTPGlob}, nil
		}}
	hostPath := func(p string) (string, error) { return filepath.Join(host, strings.TrimPrefix(p, "/etc/nginx/")), nil }
	e := &EvidenceFiles{Switcher: sw, IncludePath: "/etc/nginx/conf.d/service-url.inc", HostPath: hostPath}
	local := sw.IncludePath + EvidenceSuffix
	require.NoError(t, os.WriteFile(local, []byte("an earlier canary's log\n"), 0o644))

	log, keep, err := e.Prepare(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"nginx -T"}, ran)
	assert.Equal(t, "/etc/nginx/conf.d/service-url.inc.evidence", log.Path, "the log as nginx names it")
	assert.Equal(t, []string{"access_log /var/log/nginx/access.log;"}, keep, "http's access_log is repeated")
	format, err := os.ReadFile(filepath.Join(host, "conf.d", "bluegreen-evidence.conf"))
	require.NoError(t, err)
	assert.Equal(t, string(EvidenceFormatFile()), string(format))
	_, err = os.Stat(local)
	assert.ErrorIs(t, err, os.ErrNotExist, "an earlier canary's log is not read")

	mark, err := e.Mark()
	require.NoError(t, err)
	assert.Zero(t, mark)
	line := `bg1 1765000000.000 502 0.004 "127.0.0.1:8082" "502"` + "\n"
	require.NoError(t, os.WriteFile(local, []byte(line+line), 0o644))
	ev, next, err := e.Since(mark, map[string]color.Color{"127.0.0.1:8082": color.Green})
	require.NoError(t, err)
	assert.Equal(t, int64(2), ev.Green.Requests)
	assert.Equal(t, int64(2), ev.Green.Errors)
	assert.Equal(t, int64(2*len(line)), next)

	e.Remove()
	_, err = os.Stat(local)
	assert.ErrorIs(t, err, os.ErrNotExist)
	e.Remove() // twice is fine
}

// TestSwitcherDump: the dump is the test command with -T.
func TestSwitcherDump(t *testing.T) {
	t.Parallel()
	sw := &Switcher{TestCmd: []string{"nginx", "-qt", "-c", "/x.conf"}, Run: func(_ context.Context, args []string) (execx.Result, error) {
		return execx.Result{Stdout: strings.Join(args, " ")}, nil
	}}
	got, err := sw.Dump(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "nginx -qT -c /x.conf", got)
	_, err = (&Switcher{TestCmd: []string{"nginx"}}).Dump(context.Background())
	require.ErrorContains(t, err, "has no -t flag")
}

package nginx

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnsureEvidenceFormat: the log format file is written where nginx's
// http-context glob reads it, through the host's view of that path; a file
// already right is left as it is (same inode), a wrong one replaced.
func TestEnsureEvidenceFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var asked []string
	hostPath := func(p string) (string, error) {
		asked = append(asked, p)
		return filepath.Join(dir, filepath.Base(p)), nil
	}
	local := filepath.Join(dir, "bluegreen-evidence.conf")
	inode := func() uint64 {
		fi, err := os.Stat(local)
		require.NoError(t, err)
		return fi.Sys().(*syscall.Stat_t).Ino
	}

	path, err := EnsureEvidenceFormat(dumpWithHTTPGlob, hostPath)
	require.NoError(t, err)
	assert.Equal(t, "/etc/nginx/conf.d/bluegreen-evidence.conf", path, "the path as nginx names it")
	assert.Equal(t, []string{path}, asked)
	assert.Equal(t, string(EvidenceFormatFile()), readFile(t, local))
	first := inode()

	_, err = EnsureEvidenceFormat(dumpWithHTTPGlob, hostPath)
	require.NoError(t, err)
	assert.Equal(t, first, inode(), "a file that is already right is not rewritten")

	require.NoError(t, os.WriteFile(local, []byte("log_format stale;\n"), 0o644))
	_, err = EnsureEvidenceFormat(dumpWithHTTPGlob, hostPath)
	require.NoError(t, err)
	assert.Equal(t, string(EvidenceFormatFile()), readFile(t, local))

	_, err = EnsureEvidenceFormat(dumpWithHTTPGlob, func(string) (string, error) { return "", errors.New("not mounted") })
	assert.ErrorContains(t, err, "failed to find /etc/nginx/conf.d/bluegreen-evidence.conf on this host: not mounted")
	_, err = EnsureEvidenceFormat(dumpWithHTTPGlob, func(string) (string, error) { return filepath.Join(dir, "missing", "x.conf"), nil })
	assert.ErrorContains(t, err, "failed to write the evidence log format")
	_, err = EnsureEvidenceFormat("# configuration file /etc/nginx/nginx.conf:\nhttp { }\n", hostPath)
	assert.ErrorIs(t, err, ErrNoHTTPInclude)
}

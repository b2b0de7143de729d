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

// TestWriteFileAtomicKeepsTheOwner: the new include belongs to whoever
// owned the old one, not to the deploy's user (nginx's workers, or the
// user's tooling, may read it only as that owner). Giving a file away
// needs root, so the test does too.
func TestWriteFileAtomicKeepsTheOwner(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root may give a file to another owner")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "service-url.inc")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o644))
	require.NoError(t, os.Chown(path, 4321, 4322))
	require.NoError(t, writeFileAtomic(path, []byte("new\n"), nil))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	assert.Equal(t, []uint32{4321, 4322}, []uint32{st.Uid, st.Gid})

	// A new include belongs to the writer.
	fresh := filepath.Join(dir, "fresh.inc")
	require.NoError(t, writeFileAtomic(fresh, []byte("new\n"), nil))
	fi, err = os.Stat(fresh)
	require.NoError(t, err)
	st = fi.Sys().(*syscall.Stat_t)
	assert.Equal(t, []uint32{uint32(os.Geteuid()), uint32(os.Getegid())}, []uint32{st.Uid, st.Gid})
}

// TestWriteFileAtomicReportsAnUnsyncedDirectory: when the directory
// cannot be synced after the rename, the write is reported as failed: a
// crash could still bring the old include back.
func TestWriteFileAtomicReportsAnUnsyncedDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "service-url.inc")
	boom := errors.New("fsync: input/output error")
	var synced string
	err := writeFileAtomic(path, []byte("new\n"), &fileOps{syncDir: func(d string) error { synced = d; return boom }})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, dir+"/", synced, "the include's own directory is synced")
}

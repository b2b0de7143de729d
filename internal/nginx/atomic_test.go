package nginx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(text)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// dirNames lists a directory, to prove no temp file is left behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing bool
		mode     os.FileMode
		wantMode os.FileMode
	}{
		{"new file gets 0644", false, 0, 0o644},
		{"keeps 0640", true, 0o640, 0o640},
		{"keeps 0600", true, 0o600, 0o600},
		{"keeps 0664", true, 0o664, 0o664},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "service-url.inc")
			if tt.existing {
				require.NoError(t, os.WriteFile(path, []byte("old\n"), tt.mode))
				require.NoError(t, os.Chmod(path, tt.mode)) // umask-proof
			}
			require.NoError(t, writeFileAtomic(path, []byte("new\n"), nil))
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, "new\n", string(got))
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, tt.wantMode, fi.Mode().Perm())
			assert.Equal(t, []string{"service-url.inc"}, dirNames(t, dir), "a temp file was left behind")
		})
	}
}

// TestWriteFileAtomicReplacesTheInode proves the write is a rename, not an
// in-place overwrite: a reader holding the old file keeps the old bytes.
// (It is also why a container must mount the include's directory.)
func TestWriteFileAtomicReplacesTheInode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "service-url.inc")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o644))
	held, err := os.Open(path)
	require.NoError(t, err)
	defer held.Close()
	require.NoError(t, writeFileAtomic(path, []byte("new\n"), nil))
	buf := make([]byte, 16)
	n, _ := held.Read(buf)
	assert.Equal(t, "old\n", string(buf[:n]))
}

func TestWriteFileAtomicFailureKeepsOldBytes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "service-url.inc")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o640))
	boom := errors.New("disk on fire")
	err := writeFileAtomic(path, []byte("new\n"), &fileOps{rename: func(string, string) error { return boom }})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "failed to rename")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "old\n", string(got))
	assert.Equal(t, []string{"service-url.inc"}, dirNames(t, dir), "the temp file was not removed")

	err = writeFileAtomic(filepath.Join(dir, "missing", "x.inc"), []byte("new\n"), nil)
	assert.ErrorContains(t, err, "failed to create temp file next to")
}

func TestWriteFileAtomicFollowsSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real := filepath.Join(dir, "real.inc")
	link := filepath.Join(dir, "service-url.inc")
	require.NoError(t, os.WriteFile(real, []byte("old\n"), 0o600))
	require.NoError(t, os.Symlink("real.inc", link))
	require.NoError(t, writeFileAtomic(link, []byte("new\n"), nil))
	fi, err := os.Lstat(link)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, fi.Mode()&os.ModeSymlink, "the symlink was replaced by a file")
	got, err := os.ReadFile(real)
	require.NoError(t, err)
	assert.Equal(t, "new\n", string(got))
	fi, err = os.Stat(real)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

func TestRemoveFileDurably(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.inc")
	require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
	require.NoError(t, removeFileDurably(path))
	require.NoError(t, removeFileDurably(path), "removing a missing file is not an error")
	assert.Empty(t, dirNames(t, dir))
}

package privdir

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteFileReplacesAtomicallyAndNeverThroughALink(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	d, err := Open(dir, true, "state directory")
	require.NoError(t, err)
	defer d.Close()
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())

	require.NoError(t, d.WriteFile("history", []byte("one\n"), "history file"))
	require.NoError(t, d.WriteFile("history", []byte("two\n"), "history file"))
	got, err := d.ReadFile("history", 1<<20, "history file")
	require.NoError(t, err)
	require.Equal(t, "two\n", string(got))

	// A link planted at the name is replaced by the rename, its target
	// never written.
	canary := filepath.Join(t.TempDir(), "canary")
	require.NoError(t, os.WriteFile(canary, []byte("root's file"), 0o600))
	require.NoError(t, os.Remove(filepath.Join(dir, "history")))
	require.NoError(t, os.Symlink(canary, filepath.Join(dir, "history")))
	_, err = d.ReadFile("history", 1<<20, "history file")
	var u *UnsafeError
	require.ErrorAs(t, err, &u, "reading does not follow the link")
	require.NoError(t, d.WriteFile("history", []byte("three\n"), "history file"))
	c, _ := os.ReadFile(canary)
	require.Equal(t, "root's file", string(c))
	got, err = d.ReadFile("history", 1<<20, "history file")
	require.NoError(t, err)
	require.Equal(t, "three\n", string(got))

	// A temp file a killed write left behind is removed.
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".history.tmp-x"), nil, 0o600))
	require.NoError(t, d.RemoveTemps("history"))
	_, err = os.Stat(filepath.Join(dir, ".history.tmp-x"))
	require.True(t, os.IsNotExist(err))
}

func TestOpenRefusesSharedDirs(t *testing.T) {
	t.Parallel()
	shared := t.TempDir()
	require.NoError(t, os.Chmod(shared, 0o1777))
	_, err := Open(shared, true, "state directory")
	var u *UnsafeError
	require.ErrorAs(t, err, &u)
	require.Contains(t, err.Error(), "is writable by group or others")

	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(t.TempDir(), link))
	_, err = Open(link, false, "state directory")
	require.ErrorAs(t, err, &u)

	missing, err := Open(filepath.Join(t.TempDir(), "nope"), false, "state directory")
	require.NoError(t, err)
	require.Nil(t, missing)
}

func TestOpenFileRefusesHardLinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d, err := Open(dir, false, "state directory")
	require.NoError(t, err)
	defer d.Close()
	other := filepath.Join(t.TempDir(), "other")
	require.NoError(t, os.WriteFile(other, nil, 0o600))
	require.NoError(t, os.Link(other, filepath.Join(dir, "f")))
	_, err = d.OpenFile("f", syscall.O_RDONLY, "history file")
	var u *UnsafeError
	require.ErrorAs(t, err, &u)
	require.Contains(t, err.Error(), "has 2 links")
}

// TestOpenMakesReadableDirsPrivate: a directory of ours that group or
// others may read or enter (an older bluegreen made /var/lib/bluegreen
// 0755) is made 0700 as it is opened, created or not.
func TestOpenMakesReadableDirsPrivate(t *testing.T) {
	t.Parallel()
	for _, mode := range []os.FileMode{0o755, 0o750, 0o701, 0o744} {
		dir := filepath.Join(t.TempDir(), "state")
		require.NoError(t, os.Mkdir(dir, 0o700))
		require.NoError(t, os.Chmod(dir, mode))
		for _, create := range []bool{true, false} {
			require.NoError(t, os.Chmod(dir, mode))
			d, err := Open(dir, create, "state directory")
			require.NoError(t, err, "%04o", mode)
			d.Close()
			fi, err := os.Stat(dir)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), "%04o, create %v", mode, create)
		}
	}
}

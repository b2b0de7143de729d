package lock

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// nobody is the uid the tests give to files and directories another user
// planted.
const nobody = 65534

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user (uid 65534)")
	}
}

func TestAcquireWaitsThenTimesOutNamingHolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := Acquire(context.Background(), dir, "app", Holder{RunID: "41", SHA: "abcdef0123456789"}, time.Second, nil)
	require.NoError(t, err)

	var seen Holder
	_, err = Acquire(context.Background(), dir, "app", Holder{RunID: "42"}, 300*time.Millisecond, func(h Holder) { seen = h })
	require.ErrorIs(t, err, ErrTimeout)
	require.Contains(t, err.Error(), "run 41")
	require.Contains(t, err.Error(), "commit abcdef012345")
	require.Equal(t, "41", seen.RunID)

	require.NoError(t, first.Release())
	second, err := Acquire(context.Background(), dir, "app", Holder{RunID: "42"}, time.Second, nil)
	require.NoError(t, err)
	h, err := ReadHolder(dir, "app")
	require.NoError(t, err)
	require.Equal(t, "42", h.RunID)
	require.NoError(t, second.Release())
	free, err := Free(dir, "app")
	require.NoError(t, err)
	require.True(t, free)
}

// TestSecondAcquirerGetsTheLockWhenTheFirstReleases: the lock serialises
// two deploys; the waiter goes on as soon as the holder is done.
func TestSecondAcquirerGetsTheLockWhenTheFirstReleases(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := Acquire(context.Background(), dir, "app", Holder{RunID: "1"}, time.Second, nil)
	require.NoError(t, err)
	waiting := make(chan Holder, 1)
	got := make(chan error, 1)
	go func() {
		l, err := Acquire(context.Background(), dir, "app", Holder{RunID: "2"}, 10*time.Second, func(h Holder) { waiting <- h })
		if err == nil {
			err = l.Release()
		}
		got <- err
	}()
	require.Equal(t, "1", receive(t, waiting, "the second acquirer to report the holder it waits for").RunID)
	select {
	case err := <-got:
		t.Fatalf("the second acquirer did not wait: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, first.Release())
	require.NoError(t, receive(t, got, "the second acquirer to get the lock once the first released it"))
}

// receive waits for a value from ch, failing t with what it waited for
// after 10 s: a broken lock must fail the test, not hang it.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out after 10s waiting for %s", what)
		panic("unreachable")
	}
}

// TestReleaseClearsTheRecord: a released lock names no holder, so that a
// waiter, or a fleet's status, never names a deploy that has ended.
func TestReleaseClearsTheRecord(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := Acquire(context.Background(), dir, "app", Holder{RunID: "41", SHA: "abc"}, time.Second, nil)
	require.NoError(t, err)
	h, err := ReadHolder(dir, "app")
	require.NoError(t, err)
	require.Equal(t, "41", h.RunID, "the holder's record is there while it holds the lock")
	require.NoError(t, l.Release())
	h, err = ReadHolder(dir, "app")
	require.NoError(t, err)
	require.Equal(t, Holder{}, h, "no record is left behind")
	require.Equal(t, "a holder that left no record", h.String())
	data, err := os.ReadFile(l.Path())
	require.NoError(t, err)
	require.Empty(t, data)
	require.NoError(t, l.Release(), "a second release does nothing")
}

// TestLockDiesWithHolder kills a process holding the lock with SIGKILL and
// checks the lock is free at once. The holder is this test binary re-run
// as a helper process.
func TestLockDiesWithHolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=TestHelperHolder")
	cmd.Env = append(os.Environ(), "BLUEGREEN_LOCK_HELPER="+dir)
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { h, _ := ReadHolder(dir, "app"); return h.RunID == "helper" }, 10*time.Second, 20*time.Millisecond)
	free, err := Free(dir, "app")
	require.NoError(t, err)
	require.False(t, free)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	l, err := Acquire(context.Background(), dir, "app", Holder{}, time.Second, nil)
	require.NoError(t, err)
	require.NoError(t, l.Release())
}

func TestHelperHolder(t *testing.T) {
	dir := os.Getenv("BLUEGREEN_LOCK_HELPER")
	if dir == "" {
		t.Skip("helper process for TestLockDiesWithHolder")
	}
	_, err := Acquire(context.Background(), dir, "app", Holder{RunID: "helper"}, time.Second, nil)
	require.NoError(t, err)
	time.Sleep(time.Minute)
}

// TestMissingDirIsCreatedPrivate: the lock directory and file are made so
// that only the running user can write or open them.
func TestMissingDirIsCreatedPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run", "bluegreen")
	l, err := Acquire(context.Background(), dir, "app", Holder{}, time.Second, nil)
	require.NoError(t, err)
	defer l.Release()
	fi, err := os.Lstat(dir)
	require.NoError(t, err)
	require.True(t, fi.IsDir())
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	fi, err = os.Lstat(l.Path())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.Equal(t, filepath.Join(dir, "bluegreen-app.lock"), l.Path())
}

// TestSymlinkAtLockPathIsRefused: a link planted at the lock's name, to a
// file of root's or to a name that does not exist yet, is never written
// through.
func TestSymlinkAtLockPathIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		exists bool
	}{
		{"to a root-owned file", true},
		{"dangling", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			target := filepath.Join(t.TempDir(), "shadow")
			content := []byte("root:$6$secret:19000:0:99999:7:::\n")
			if tc.exists {
				require.NoError(t, os.WriteFile(target, content, 0o640))
			}
			path := filepath.Join(dir, "bluegreen-app.lock")
			require.NoError(t, os.Symlink(target, path))

			l, err := Acquire(context.Background(), dir, "app", Holder{RunID: "7"}, time.Second, nil)
			if l != nil {
				l.Release()
			}
			if tc.exists {
				got, err := os.ReadFile(target)
				require.NoError(t, err)
				require.Equal(t, string(content), string(got), "the link's target is unchanged")
				fi, err := os.Stat(target)
				require.NoError(t, err)
				require.Equal(t, int64(len(content)), fi.Size())
				require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
			} else {
				require.NoFileExists(t, target, "nothing is created through the link")
			}
			require.ErrorIs(t, err, ErrUnsafe)
			require.Contains(t, err.Error(), path)
			require.Contains(t, err.Error(), "symbolic link")

			_, err = Free(dir, "app")
			require.ErrorIs(t, err, ErrUnsafe, "Free does not follow the link either")
			_, err = ReadHolder(dir, "app")
			require.ErrorIs(t, err, ErrUnsafe, "ReadHolder does not follow the link either")
		})
	}
}

// TestUnsafeDirIsRefused: a lock directory another user could write, or
// could swap, is refused with a message naming it and what to do, and
// nothing is created in it.
func TestUnsafeDirIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		root  bool
		setup func(t *testing.T, dir string) string // returns the dir to pass
		want  string
	}{
		{"world-writable", false, func(t *testing.T, dir string) string {
			require.NoError(t, os.Chmod(dir, 0o777))
			return dir
		}, "writable by group or others (mode 0777)"},
		{"world-writable sticky like /run/lock", false, func(t *testing.T, dir string) string {
			require.NoError(t, os.Chmod(dir, 0o777|os.ModeSticky))
			return dir
		}, "writable by group or others (mode 1777)"},
		{"group-writable", false, func(t *testing.T, dir string) string {
			require.NoError(t, os.Chmod(dir, 0o770))
			return dir
		}, "writable by group or others (mode 0770)"},
		{"symbolic link to a private dir", false, func(t *testing.T, dir string) string {
			link := filepath.Join(t.TempDir(), "lockdir")
			require.NoError(t, os.Symlink(dir, link))
			return link
		}, "is a symbolic link"},
		{"owned by another user", true, func(t *testing.T, dir string) string {
			require.NoError(t, os.Chown(dir, nobody, nobody))
			return dir
		}, "is owned by uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.root {
				requireRoot(t)
			}
			real := t.TempDir()
			dir := tc.setup(t, real)
			l, err := Acquire(context.Background(), dir, "app", Holder{}, time.Second, nil)
			if l != nil {
				l.Release()
			}
			require.ErrorIs(t, err, ErrUnsafe)
			require.Contains(t, err.Error(), "lock directory "+dir+" ")
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), "BLUEGREEN_LOCK_DIR", "says what to do")
			entries, err := os.ReadDir(real)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing is created in the directory")
		})
	}
}

// TestUnsafeLockFileIsRefused: a lock file that another user owns, that
// shares its inode with another file, or that is not a regular file is
// neither locked nor written.
func TestUnsafeLockFileIsRefused(t *testing.T) {
	t.Parallel()
	const content = "do not touch\n"
	for _, tc := range []struct {
		name  string
		root  bool
		plant func(t *testing.T, path string) (check func())
		want  string
	}{
		{"owned by another user", true, func(t *testing.T, path string) func() {
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			require.NoError(t, os.Chown(path, nobody, nobody))
			return func() {
				got, err := os.ReadFile(path)
				require.NoError(t, err)
				require.Equal(t, content, string(got))
			}
		}, "is owned by uid 65534"},
		{"hard link to another file", false, func(t *testing.T, path string) func() {
			other := filepath.Join(t.TempDir(), "other")
			require.NoError(t, os.WriteFile(other, []byte(content), 0o600))
			require.NoError(t, os.Link(other, path))
			return func() {
				got, err := os.ReadFile(other)
				require.NoError(t, err)
				require.Equal(t, content, string(got), "the linked file is unchanged")
			}
		}, "has 2 links"},
		{"FIFO", false, func(t *testing.T, path string) func() {
			require.NoError(t, syscall.Mkfifo(path, 0o600))
			return func() {}
		}, "is not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.root {
				requireRoot(t)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "bluegreen-app.lock")
			check := tc.plant(t, path)
			l, err := Acquire(context.Background(), dir, "app", Holder{RunID: "7"}, time.Second, nil)
			if l != nil {
				l.Release()
			}
			check()
			require.ErrorIs(t, err, ErrUnsafe)
			require.Contains(t, err.Error(), "lock file "+path+" "+tc.want)
			require.Contains(t, err.Error(), "rm "+path, "says what to do")
		})
	}
}

func TestProjectNameCannotLeaveTheDir(t *testing.T) {
	t.Parallel()
	for _, project := range []string{"", "..", "../../etc/passwd", "a/b", "x..y", "a\x00b"} {
		dir := t.TempDir()
		_, err := Acquire(context.Background(), dir, project, Holder{}, time.Second, nil)
		require.Error(t, err, "project %q", project)
		require.Contains(t, err.Error(), "invalid project name")
		_, err = Free(dir, project)
		require.Error(t, err, "project %q", project)
		entries, _ := os.ReadDir(dir)
		require.Empty(t, entries)
	}
}

// TestRecordNamesThisProcess: a holder that gives no pid or start time is
// recorded with this process's and now, so that a waiter can name it; one
// that gives them keeps them.
func TestRecordNamesThisProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := Acquire(context.Background(), dir, "app", Holder{RunID: "1"}, time.Second, nil)
	require.NoError(t, err)
	h, err := ReadHolder(dir, "app")
	require.NoError(t, err)
	require.Equal(t, os.Getpid(), h.PID)
	require.False(t, h.Started.IsZero())
	require.NoError(t, l.Release())

	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l, err = Acquire(context.Background(), dir, "app", Holder{PID: 4242, Started: started}, time.Second, nil)
	require.NoError(t, err)
	defer l.Release()
	h, err = ReadHolder(dir, "app")
	require.NoError(t, err)
	require.Equal(t, 4242, h.PID)
	require.True(t, started.Equal(h.Started), "%s", h.Started)
}

// TestNothingThereYet: with no lock directory or no lock file yet, the
// lock is free and has no holder.
func TestNothingThereYet(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{filepath.Join(t.TempDir(), "missing"), t.TempDir()} {
		free, err := Free(dir, "app")
		require.NoError(t, err)
		require.True(t, free, dir)
		h, err := ReadHolder(dir, "app")
		require.NoError(t, err)
		require.Equal(t, Holder{}, h)
	}
}

//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/lock"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// nobody is the unprivileged user that plants the link.
const nobody = 65534

// requireRoot skips without root on a developer machine and fails in CI:
// the deploy runs as root, and only root can act as another user.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if testenv.InCI() {
		t.Fatal("this test must run as root in CI (CI=true)")
	}
	t.Skip("skipping: needs root, as the deploy does, to plant a link as uid 65534")
}

// deployBinary runs the built bluegreen binary once, as the runner would
// on the host, with the fixture's inputs and BLUEGREEN_LOCK_DIR.
func (f *fixture) deployBinary(lockDir string, env ...string) (int, string) {
	f.t.Helper()
	cmd := exec.Command(binary(f.t))
	cmd.Dir = f.dir
	cmd.Env = throwaway.Environ(f.inputs, nil, append([]string{"APP_IMAGE=" + f.image, "BLUEGREEN_LOCK_DIR=" + lockDir}, env...)...)
	return startProc(f.t, "bluegreen", cmd).wait(5 * time.Minute)
}

// TestLockRefusesSharedDirWithPlantedLink is issue 9's attack: the lock
// directory is shared like /run/lock (mode 1777), and an unprivileged user
// (uid 65534) has planted a link at the lock's name pointing to a file of
// root's. The real binary, run as root, must fail at the lock, say what is
// wrong and what to do, and leave the file as it was.
func TestLockRefusesSharedDirWithPlantedLink(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	f := newFixture(t, nil)

	// Under /tmp itself, so that uid 65534 can reach it.
	shared, err := os.MkdirTemp("", "bluegreen-e2e-lock-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(shared) })
	require.NoError(t, os.Chmod(shared, 0o777|os.ModeSticky))

	canary := filepath.Join(t.TempDir(), "canary")
	const content = "root's file: a deploy must never write it\n"
	require.NoError(t, os.WriteFile(canary, []byte(content), 0o644))

	path, err := lock.Path(shared, f.project)
	require.NoError(t, err)
	ln := exec.Command("ln", "-s", canary, path)
	ln.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := ln.CombinedOutput()
	require.NoError(t, err, "ln -s as uid 65534: %s", out)
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.NotZero(t, fi.Mode()&os.ModeSymlink)
	require.EqualValues(t, nobody, fi.Sys().(*syscall.Stat_t).Uid, "the link is nobody's")
	includeBefore := f.include()

	code, log := f.deployBinary(shared, "VERSION=v1")
	require.NotEqual(t, 0, code, log)
	// The host's nginx lock lives in the same directory and is taken
	// first, in preflight, around its nginx -t: the directory is refused
	// there, before anything is touched.
	require.Contains(t, log, "error: Deploy failed: Preflight: failed to take the host's nginx lock: ", "the preflight failed")
	require.Contains(t, log, "unsafe deploy lock: lock directory "+shared+" is writable by group or others (mode 1777)")
	require.Contains(t, log, "Point BLUEGREEN_LOCK_DIR at a directory only uid 0 can write")

	got, err := os.ReadFile(canary)
	require.NoError(t, err)
	require.Equal(t, content, string(got), "the canary is unchanged")
	fi, err = os.Stat(canary)
	require.NoError(t, err)
	require.Equal(t, int64(len(content)), fi.Size())
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	require.Equal(t, includeBefore, f.include(), "nginx's include is untouched")
	require.Empty(t, f.all("blue"), "no color was started")
	require.Empty(t, f.all("green"), "no color was started")
}

// TestLockInPrivateDir: with a lock directory that does not exist yet,
// like /run/bluegreen on a fresh boot, the deploy creates it private,
// deploys, and leaves the lock free.
func TestLockInPrivateDir(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	dir := filepath.Join(t.TempDir(), "run", "bluegreen")

	code, log := f.deployBinary(dir, "VERSION=v1")
	require.Equal(t, 0, code, log)
	f.requireServes("v1", "blue")

	fi, err := os.Lstat(dir)
	require.NoError(t, err)
	require.True(t, fi.IsDir())
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	path, err := lock.Path(dir, f.project)
	require.NoError(t, err)
	fi, err = os.Lstat(path)
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular())
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	free, err := lock.Free(dir, f.project)
	require.NoError(t, err)
	require.True(t, free, "the lock is free after the deploy")
}

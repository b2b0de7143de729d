package lock

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAcquireWaitsThenTimesOutNamingHolder(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.lock")
	first, err := Acquire(context.Background(), path, Holder{RunID: "41", SHA: "abcdef0123456789"}, time.Second, nil)
	require.NoError(t, err)

	var seen Holder
	_, err = Acquire(context.Background(), path, Holder{RunID: "42"}, 300*time.Millisecond, func(h Holder) { seen = h })
	require.ErrorIs(t, err, ErrTimeout)
	require.Contains(t, err.Error(), "run 41")
	require.Contains(t, err.Error(), "commit abcdef012345")
	require.Equal(t, "41", seen.RunID)

	require.NoError(t, first.Release())
	second, err := Acquire(context.Background(), path, Holder{RunID: "42"}, time.Second, nil)
	require.NoError(t, err)
	require.Equal(t, "42", ReadHolder(path).RunID)
	require.NoError(t, second.Release())
	free, err := Free(path)
	require.NoError(t, err)
	require.True(t, free)
}

// TestLockDiesWithHolder kills a process holding the lock with SIGKILL and
// checks the lock is free at once. The holder is this test binary re-run
// as a helper process.
func TestLockDiesWithHolder(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.lock")
	cmd := exec.Command(os.Args[0], "-test.run=TestHelperHolder")
	cmd.Env = append(os.Environ(), "BLUEGREEN_LOCK_HELPER="+path)
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { return ReadHolder(path).RunID == "helper" }, 10*time.Second, 20*time.Millisecond)
	free, err := Free(path)
	require.NoError(t, err)
	require.False(t, free)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	l, err := Acquire(context.Background(), path, Holder{}, time.Second, nil)
	require.NoError(t, err)
	require.NoError(t, l.Release())
}

func TestHelperHolder(t *testing.T) {
	path := os.Getenv("BLUEGREEN_LOCK_HELPER")
	if path == "" {
		t.Skip("helper process for TestLockDiesWithHolder")
	}
	_, err := Acquire(context.Background(), path, Holder{RunID: "helper"}, time.Second, nil)
	require.NoError(t, err)
	time.Sleep(time.Minute)
}

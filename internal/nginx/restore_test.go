package nginx

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSwitcherNotConfigured(t *testing.T) {
	t.Parallel()
	_, err := (&Switcher{}).Switch(context.Background(), []byte("x"))
	assert.ErrorIs(t, err, ErrNotConfigured)
	assert.ErrorContains(t, err, "IncludePath, TestCmd, ReloadCmd not set")
}

// TestRestoreWithoutReloadKeepsModTime: an include put back after nginx -t
// rejected the new one must not look "written but not loaded" to the next
// deploy, which would reload nginx (or, in status mode, report a problem
// that is not there).
func TestRestoreWithoutReloadKeepsModTime(t *testing.T) {
	t.Parallel()
	s := newFakeSetup(t, oldInclude)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	require.NoError(t, os.Chtimes(s.path, time.Time{}, old))
	s.nginx.onTest = func(n int) error {
		if n == 1 {
			return exitErr(s.sw.TestCmd, "nginx: [emerg] bad")
		}
		return nil
	}
	_, err := s.sw.Switch(context.Background(), []byte(newInclude))
	require.ErrorIs(t, err, ErrConfigTest)
	require.Equal(t, oldInclude, s.include(t))
	fi, err := os.Stat(s.path)
	require.NoError(t, err)
	require.True(t, fi.ModTime().Equal(old), "modification time %s, want %s", fi.ModTime(), old)
}

func TestRestore(t *testing.T) {
	t.Parallel()
	s := newFakeSetup(t, newInclude)
	s.nginx.onReload = func(_ context.Context, n int) error {
		s.respawn(n)
		return nil
	}
	require.NoError(t, s.sw.Restore(context.Background(), []byte(oldInclude), true))
	assert.Equal(t, oldInclude, s.include(t))

	require.NoError(t, s.sw.Restore(context.Background(), nil, false))
	_, err := os.Stat(s.path)
	assert.True(t, os.IsNotExist(err))

	s.nginx.onTest = func(int) error { return exitErr(s.sw.TestCmd, "nginx: [emerg] bad") }
	err = s.sw.Restore(context.Background(), []byte(oldInclude), true)
	assert.ErrorIs(t, err, ErrRestoreFailed)
	assert.ErrorIs(t, err, ErrConfigTest)
	assert.Contains(t, err.Error(), "failed to restore nginx include")
}

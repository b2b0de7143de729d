package fleet

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLockError: what a fleet lock's helper said when it ended without
// the lock becomes the runner's error, naming the holder; a helper that
// could not be started because the daemon did not answer is a transient
// error, tried again.
func TestLockError(t *testing.T) {
	t.Parallel()
	holder := "pid 12, run 41, commit 0123abcdef99, started 2026-01-01T00:00:00Z (3m0s ago)"
	err := lockError("busy "+holder, 1, nil)
	require.ErrorIs(t, err, ErrLockBusy)
	require.EqualError(t, err, "another rollout holds it: "+holder)

	err = lockError("failed timed out after 5m0s (lock-timeout) waiting for the fleet lock of app: another rollout holds it: "+holder+"; wait for it to finish, or raise lock-timeout", 1, nil)
	require.ErrorContains(t, err, "waiting for the fleet lock of app: another rollout holds it: "+holder)
	require.NotContains(t, err.Error(), "exited with code")

	err = lockError("busy "+strings.Repeat("x", 5000), 1, nil)
	require.Less(t, len(err.Error()), maxSaid+100, "what a host says is capped")

	err = lockError("", 0, fmt.Errorf("failed to wait: %w", io.ErrUnexpectedEOF))
	var te *TransientError
	require.ErrorAs(t, err, &te)
	require.False(t, te.Ran)

	err = lockError("", 0, errors.New("Error response from daemon: conflict"))
	require.NotErrorAs(t, err, &te)
	require.EqualError(t, lockError("", 3, nil), "failed to take the fleet lock (the lock's helper exited with code 3)")
}

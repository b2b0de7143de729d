package hosthelper

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/lock"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// TestHoldFleetLockNamesTheHolder: a fleet lock that another rollout
// holds is answered with that holder, whether the helper may not wait
// (busy) or waited in vain (failed, after lock-timeout), so that the
// runner's error names whom the rollout waited for.
func TestHoldFleetLockNamesTheHolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	other, err := lock.Acquire(context.Background(), dir, "app", lock.Holder{RunID: "41", SHA: "0123abcdef99"}, 0, nil)
	require.NoError(t, err)
	rep := report.New(io.Discard, func(string) string { return "" })

	hold := func(ctx context.Context, l *FleetLock, out io.Writer) error {
		a := &Arrival{Handover: Handover{Lock: l, ResultToken: "tok"}, out: out, rep: rep}
		return a.HoldFleetLock(ctx)
	}
	var out bytes.Buffer
	err = hold(context.Background(), &FleetLock{Project: "app", Dir: dir}, &out)
	require.ErrorIs(t, err, ErrFleetLockBusy)
	require.Contains(t, out.String(), TokenLine("tok", "busy pid "))
	require.Contains(t, out.String(), ", run 41, commit 0123abcdef99")

	out.Reset()
	err = hold(context.Background(), &FleetLock{Project: "app", Dir: dir, Timeout: 50 * time.Millisecond}, &out)
	require.ErrorIs(t, err, lock.ErrTimeout)
	require.Contains(t, out.String(), TokenLine("tok", "failed timed out after 50ms (lock-timeout) waiting for the fleet lock of app: another rollout holds it: pid "))
	require.Contains(t, out.String(), ", run 41, commit 0123abcdef99")
	require.Equal(t, 1, bytes.Count(out.Bytes(), []byte("\n")), "one line")

	require.NoError(t, other.Release())
	held := &syncWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hold(ctx, &FleetLock{Project: "app", Dir: dir}, held) }()
	require.Eventually(t, func() bool { return strings.Contains(held.String(), TokenLine("tok", "locked")) }, 10*time.Second, 10*time.Millisecond, "the free lock is taken")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the lock's helper did not end within 10s of its end")
	}
	free, err := lock.Free(dir, "app")
	require.NoError(t, err)
	require.True(t, free, "given back")
}

// syncWriter is a buffer one goroutine writes while another reads it.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

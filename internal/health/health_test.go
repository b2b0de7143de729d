package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func accept(t *testing.T, s string) StatusSet {
	t.Helper()
	set, err := ParseStatusSet(s)
	require.NoError(t, err)
	return set
}

func TestWait(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		handler      func(n int64) int // status for the n-th request (1-based)
		accept       string
		retries      int
		wantErr      error
		wantAttempts int
	}{
		{name: "healthy at once", handler: func(int64) int { return 200 }, accept: "200", retries: 3, wantAttempts: 1},
		{name: "healthy on third", handler: func(n int64) int { return map[bool]int{true: 200, false: 503}[n >= 3] }, accept: "200", retries: 5, wantAttempts: 3},
		{name: "never healthy", handler: func(int64) int { return 500 }, accept: "200", retries: 4, wantErr: ErrUnhealthy, wantAttempts: 4},
		{name: "range accepts 204", handler: func(int64) int { return 204 }, accept: "200-299", retries: 2, wantAttempts: 1},
		{name: "redirect is not followed", handler: func(int64) int { return 301 }, accept: "200", retries: 2, wantErr: ErrUnhealthy, wantAttempts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				code := tt.handler(n.Add(1))
				if code == 301 {
					http.Redirect(w, r, "/elsewhere", code)
					return
				}
				w.WriteHeader(code)
			}))
			defer srv.Close()
			c := &Checker{URL: srv.URL + "/health", Accept: accept(t, tt.accept), Retries: tt.retries, Interval: 10 * time.Millisecond, Timeout: time.Second}
			res, err := c.Wait(context.Background(), nil, nil)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Len(t, res.Attempts, tt.wantAttempts)
		})
	}
}

func TestWaitFirstProbeAtOnceThenInterval(t *testing.T) {
	t.Parallel()
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		times = append(times, time.Now())
		if len(times) < 3 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	start := time.Now()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 5, Interval: 200 * time.Millisecond, Timeout: time.Second}
	_, err := c.Wait(context.Background(), nil, nil)
	require.NoError(t, err)
	require.Len(t, times, 3)
	require.Less(t, times[0].Sub(start), 100*time.Millisecond, "first probe goes out at once")
	gap := times[2].Sub(times[1])
	require.InDelta(t, 200*time.Millisecond, gap, float64(80*time.Millisecond), "probes are an interval apart")
}

func TestWaitStartupDelay(t *testing.T) {
	t.Parallel()
	var first time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first.IsZero() {
			first = time.Now()
		}
	}))
	defer srv.Close()
	start := time.Now()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 1, Interval: time.Second, Timeout: time.Second, StartupDelay: 150 * time.Millisecond}
	_, err := c.Wait(context.Background(), nil, nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, first.Sub(start), 150*time.Millisecond)
}

func TestWaitWatchEndsAtOnce(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	died := errors.New("container exited with code 3")
	start := time.Now()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 100, Interval: time.Second, Timeout: time.Second, WatchEvery: 20 * time.Millisecond}
	_, err := c.Wait(context.Background(), func(context.Context) error {
		if time.Since(start) > 100*time.Millisecond {
			return died
		}
		return nil
	}, nil)
	require.ErrorIs(t, err, died)
	require.Less(t, time.Since(start), 500*time.Millisecond)
}

func TestWaitProbeTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 2, Interval: 10 * time.Millisecond, Timeout: 100 * time.Millisecond}
	res, err := c.Wait(context.Background(), nil, nil)
	require.ErrorIs(t, err, ErrUnhealthy)
	require.Contains(t, err.Error(), "no answer within health-timeout 100ms")
	require.Len(t, res.Attempts, 2)
}

func TestWaitConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := &Checker{URL: url, Accept: accept(t, "200"), Retries: 2, Interval: 10 * time.Millisecond, Timeout: time.Second}
	_, err := c.Wait(context.Background(), nil, nil)
	require.ErrorIs(t, err, ErrUnhealthy)
	require.True(t, strings.Contains(err.Error(), "connection refused"), err.Error())
}

func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 100, Interval: 20 * time.Millisecond, Timeout: time.Second}
	_, err := c.Wait(ctx, nil, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestWaitStartInterval: until the first healthy answer, probes go out
// every StartInterval, so an app ready after 350 ms is seen within about
// one start interval of it, not at the next 2 s probe.
func TestWaitStartInterval(t *testing.T) {
	t.Parallel()
	ready := time.Now().Add(350 * time.Millisecond)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if time.Now().Before(ready) {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 3, Interval: 2 * time.Second, StartInterval: 50 * time.Millisecond, Timeout: time.Second}
	res, err := c.Wait(context.Background(), nil, nil)
	require.NoError(t, err)
	require.Less(t, res.Elapsed, 600*time.Millisecond)
	require.Greater(t, len(res.Attempts), 3, "more probes than retries: the budget is a deadline")
}

// TestWaitStartIntervalDeadline: with StartInterval the budget is
// Retries × Interval of time, not a count of probes.
func TestWaitStartIntervalDeadline(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 3, Interval: 100 * time.Millisecond, StartInterval: 20 * time.Millisecond, Timeout: time.Second}
	start := time.Now()
	res, err := c.Wait(context.Background(), nil, nil)
	require.ErrorIs(t, err, ErrUnhealthy)
	require.InDelta(t, 300, float64(time.Since(start).Milliseconds()), 120)
	require.Greater(t, len(res.Attempts), 5)
}

// TestNextWaitBacksOff: probes every StartInterval for the fast period,
// then ever further apart, never further than Interval.
func TestNextWaitBacksOff(t *testing.T) {
	t.Parallel()
	c := &Checker{Interval: 2 * time.Second, StartInterval: 100 * time.Millisecond}
	require.Equal(t, 100*time.Millisecond, c.nextWait(Attempt{}, time.Second))
	require.Equal(t, 100*time.Millisecond, c.nextWait(Attempt{}, fastPeriod))
	require.Equal(t, 600*time.Millisecond, c.nextWait(Attempt{}, fastPeriod+time.Second))
	require.Equal(t, 2*time.Second, c.nextWait(Attempt{}, fastPeriod+time.Minute))
	require.Equal(t, 60*time.Millisecond, c.nextWait(Attempt{Elapsed: 40 * time.Millisecond}, 0), "the next probe starts an interval after this one started")
}

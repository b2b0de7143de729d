package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/httpstatus"
)

var _ Accepter = httpstatus.Set{}

func accept(t *testing.T, s string) httpstatus.Set {
	t.Helper()
	set, err := httpstatus.ParseSet(s)
	require.NoError(t, err)
	return set
}

// outcome is what Wait returned.
type outcome struct {
	res Result
	err error
}

// start runs c.Wait in the background; its outcome arrives on the channel.
func start(ctx context.Context, c *Checker, watch Watch, onAttempt func(Attempt)) <-chan outcome {
	done := make(chan outcome, 1)
	go func() {
		res, err := c.Wait(ctx, watch, onAttempt)
		done <- outcome{res, err}
	}()
	return done
}

// wait runs c.Wait on the real clock and fails the test if it does not
// return within testTimeout.
func wait(t *testing.T, c *Checker, watch Watch) (Result, error) {
	t.Helper()
	select {
	case o := <-start(context.Background(), c, watch, nil):
		return o.res, o.err
	case <-time.After(testTimeout):
		t.Fatalf("Wait did not return within %s", testTimeout)
		return Result{}, nil
	}
}

// recv receives one value or fails the test after testTimeout.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("%s did not happen within %s", what, testTimeout)
		var zero T
		return zero
	}
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
			c := &Checker{URL: srv.URL + "/health", Accept: accept(t, tt.accept), Retries: tt.retries, Interval: time.Millisecond, Timeout: time.Second}
			res, err := wait(t, c, nil)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Len(t, res.Attempts, tt.wantAttempts)
		})
	}
}

// TestWaitFirstProbeAtOnceThenInterval: the first probe goes out at once,
// and each next one an interval after the last one started, so a probe
// that took 50 ms is followed 150 ms after it ended.
func TestWaitFirstProbeAtOnceThenInterval(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	t0 := clk.Now()
	probes := make(chan time.Duration, 10)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probes <- clk.Now().Sub(t0)
		switch n.Add(1) {
		case 1:
			clk.Advance(50 * time.Millisecond) // a slow answer
			w.WriteHeader(503)
		case 2:
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 5, Interval: 200 * time.Millisecond, Timeout: time.Second, Clock: clk}
	done := start(context.Background(), c, nil, nil)

	require.Equal(t, time.Duration(0), recv(t, probes, "the first probe"), "the first probe goes out at once")
	clk.awaitTimer(t, 150*time.Millisecond)
	clk.Advance(150 * time.Millisecond)
	require.Equal(t, 200*time.Millisecond, recv(t, probes, "the second probe"))
	clk.awaitTimer(t, 200*time.Millisecond)
	clk.Advance(200 * time.Millisecond)
	require.Equal(t, 400*time.Millisecond, recv(t, probes, "the third probe"))

	o := recv(t, done, "the end of the wait")
	require.NoError(t, o.err)
	require.Len(t, o.res.Attempts, 3)
	for i, want := range []time.Duration{0, 200 * time.Millisecond, 400 * time.Millisecond} {
		require.Equal(t, i+1, o.res.Attempts[i].N)
		require.Equal(t, want, o.res.Attempts[i].At)
	}
	require.Equal(t, 50*time.Millisecond, o.res.Attempts[0].Elapsed)
	require.Equal(t, 400*time.Millisecond, o.res.Elapsed)
}

func TestWaitStartupDelay(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	t0 := clk.Now()
	probes := make(chan time.Duration, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probes <- clk.Now().Sub(t0)
	}))
	defer srv.Close()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 1, Interval: time.Second, Timeout: time.Second, StartupDelay: 150 * time.Millisecond, Clock: clk}
	done := start(context.Background(), c, nil, nil)
	clk.awaitTimer(t, 150*time.Millisecond)
	require.Empty(t, probes, "no probe before the startup delay")
	clk.Advance(150 * time.Millisecond)
	require.Equal(t, 150*time.Millisecond, recv(t, probes, "the first probe"))
	require.NoError(t, recv(t, done, "the end of the wait").err)
}

// TestWaitWatchEndsAtOnce: a container that dies ends the wait at the
// next watch, not at the next probe.
func TestWaitWatchEndsAtOnce(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	probes := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probes <- struct{}{}
		w.WriteHeader(503)
	}))
	defer srv.Close()
	died := errors.New("container exited with code 3")
	var watched atomic.Int64
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 100, Interval: time.Second, Timeout: time.Second, WatchEvery: 20 * time.Millisecond, Clock: clk}
	done := start(context.Background(), c, func(context.Context) error {
		watched.Add(1)
		return died
	}, nil)
	recv(t, probes, "the first probe")
	clk.awaitTimer(t, time.Second) // the next probe is set
	require.Zero(t, watched.Load(), "not watched before WatchEvery")
	clk.Advance(20 * time.Millisecond)
	o := recv(t, done, "the end of the wait")
	require.ErrorIs(t, o.err, died)
	require.Len(t, o.res.Attempts, 1)
	require.Equal(t, 20*time.Millisecond, o.res.Elapsed)
}

// TestWaitWatchKeepsWatching: a healthy watch is asked again every
// WatchEvery, and a later failure still ends the wait.
func TestWaitWatchKeepsWatching(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	died := errors.New("container restarting")
	var watched atomic.Int64
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 100, Interval: time.Second, Timeout: time.Second, WatchEvery: 20 * time.Millisecond, Clock: clk}
	done := start(context.Background(), c, func(context.Context) error {
		if watched.Add(1) == 3 {
			return died
		}
		return nil
	}, nil)
	for range 2 {
		clk.awaitTimer(t, 20*time.Millisecond)
		clk.Advance(20 * time.Millisecond)
	}
	clk.awaitTimer(t, 20*time.Millisecond)
	clk.Advance(20 * time.Millisecond)
	o := recv(t, done, "the end of the wait")
	require.ErrorIs(t, o.err, died)
	require.Equal(t, int64(3), watched.Load())
	require.Equal(t, 60*time.Millisecond, o.res.Elapsed)
}

// TestWaitWatchEvery100msByDefault: without WatchEvery the container is
// looked at every 100 ms, not in a busy loop and not never.
func TestWaitWatchEvery100msByDefault(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	died := errors.New("container exited")
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 100, Interval: time.Second, Timeout: time.Second, Clock: clk}
	done := start(context.Background(), c, func(context.Context) error { return died }, nil)
	clk.awaitTimer(t, 100*time.Millisecond)
	clk.Advance(100 * time.Millisecond)
	o := recv(t, done, "the end of the wait")
	require.ErrorIs(t, o.err, died)
	require.Equal(t, 100*time.Millisecond, o.res.Elapsed)
}

// TestWaitLastLookAtContainer: when the budget is spent, a container that
// died is the error, not the failed probes.
func TestWaitLastLookAtContainer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	died := errors.New("container exited with code 1")
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 1, Interval: time.Hour, Timeout: time.Second, WatchEvery: time.Hour}
	_, err := wait(t, c, func(context.Context) error { return died })
	require.ErrorIs(t, err, died)
	require.NotErrorIs(t, err, ErrUnhealthy)

	_, err = wait(t, c, func(context.Context) error { return nil })
	require.ErrorIs(t, err, ErrUnhealthy, "a live container leaves the probes' verdict")
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
	res, err := wait(t, c, nil)
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
	_, err := wait(t, c, nil)
	require.ErrorIs(t, err, ErrUnhealthy)
	require.Contains(t, err.Error(), "connection refused (nothing listens on the port yet)")
}

// TestWaitCancelled: a cancel ends the wait with the cause, however much
// budget is left.
func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	probes := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probes <- struct{}{}
		w.WriteHeader(503)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 100, Interval: 20 * time.Millisecond, Timeout: time.Second, Clock: clk}
	done := start(ctx, c, nil, nil)
	recv(t, probes, "the first probe")
	clk.awaitTimer(t, 20*time.Millisecond)
	stop := errors.New("the run was cancelled")
	cancel(stop)
	o := recv(t, done, "the end of the wait")
	require.ErrorIs(t, o.err, stop)
	require.Contains(t, o.err.Error(), "interrupted after 1 attempt(s)")
	require.Len(t, o.res.Attempts, 1)
}

// TestWaitStartInterval: until the first healthy answer, probes go out
// every StartInterval, so an app ready after 350 ms is seen at 350 ms,
// not at the next 2 s probe, and the budget is a deadline, not a count.
func TestWaitStartInterval(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	t0 := clk.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if clk.Now().Sub(t0) < 350*time.Millisecond {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 3, Interval: 2 * time.Second, StartInterval: 50 * time.Millisecond, Timeout: time.Second, Clock: clk}
	o := drive(t, clk, start(context.Background(), c, nil, nil))
	require.NoError(t, o.err)
	require.Equal(t, 350*time.Millisecond, o.res.Elapsed)
	require.Len(t, o.res.Attempts, 8, "a probe every 50 ms from 0 to 350 ms: more probes than retries")
}

// TestWaitStartIntervalDeadline: with StartInterval the budget is
// Retries × Interval of time: the last probe starts at the deadline.
func TestWaitStartIntervalDeadline(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 3, Interval: 100 * time.Millisecond, StartInterval: 20 * time.Millisecond, Timeout: time.Second, Clock: clk}
	o := drive(t, clk, start(context.Background(), c, nil, nil))
	require.ErrorIs(t, o.err, ErrUnhealthy)
	require.Equal(t, 300*time.Millisecond, o.res.Elapsed)
	require.Len(t, o.res.Attempts, 16, "probes at 0, 20, ... 300 ms")
	require.Equal(t, 300*time.Millisecond, o.res.Last().At)
	require.Contains(t, o.err.Error(), "after 16 attempts over 300ms (last: HTTP 500)")
}

// TestNextWaitBacksOff: probes every StartInterval for the fast period,
// then ever further apart, never further than a second (kamal-proxy's
// interval) nor than Interval.
func TestNextWaitBacksOff(t *testing.T) {
	t.Parallel()
	c := &Checker{Interval: 2 * time.Second, StartInterval: 100 * time.Millisecond}
	require.Equal(t, 100*time.Millisecond, c.nextWait(Attempt{}, time.Second))
	require.Equal(t, 100*time.Millisecond, c.nextWait(Attempt{}, fastPeriod))
	require.Equal(t, 600*time.Millisecond, c.nextWait(Attempt{}, fastPeriod+time.Second))
	require.Equal(t, time.Second, c.nextWait(Attempt{}, fastPeriod+2*time.Second))
	require.Equal(t, time.Second, c.nextWait(Attempt{}, fastPeriod+time.Minute), "never sparser than kamal-proxy's one probe a second")
	short := &Checker{Interval: 700 * time.Millisecond, StartInterval: 100 * time.Millisecond}
	require.Equal(t, 700*time.Millisecond, short.nextWait(Attempt{}, fastPeriod+time.Minute), "nor than Interval")
	long := &Checker{Interval: 5 * time.Second, StartInterval: 1500 * time.Millisecond}
	require.Equal(t, 1500*time.Millisecond, long.nextWait(Attempt{}, fastPeriod+time.Minute), "nor denser than StartInterval")
	require.Equal(t, 60*time.Millisecond, c.nextWait(Attempt{Elapsed: 40 * time.Millisecond}, 0), "the next probe starts an interval after this one started")
	require.Equal(t, time.Duration(0), c.nextWait(Attempt{Elapsed: time.Second}, 0), "a probe slower than the interval is followed at once")

	c.StartupDelay = time.Second
	require.Equal(t, 100*time.Millisecond, c.nextWait(Attempt{}, fastPeriod+time.Second), "the fast period starts after the startup delay")

	slow := &Checker{Interval: 2 * time.Second, StartInterval: 2 * time.Second, Retries: 3}
	require.False(t, slow.fast(), "a start interval as long as the interval is no fast start")
	require.Equal(t, 2*time.Second, slow.nextWait(Attempt{}, 0))
	require.False(t, slow.spent(2, time.Hour), "without a fast start the budget is a count of probes")
	require.True(t, slow.spent(3, 0))
}

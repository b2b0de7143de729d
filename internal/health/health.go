// Package health proves a new color healthy: an HTTP answer with an
// accepted status, never a bare TCP connect (Docker's userland proxy accepts
// on a published port before the app listens). It also watches the
// container while it waits, so a container that exits ends the wait at once
// instead of after every retry has been spent.
package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrUnhealthy means the app never gave an accepted answer in time.
var ErrUnhealthy = errors.New("health check failed")

// Accepter decides which HTTP statuses count as healthy.
type Accepter interface {
	Contains(code int) bool
	String() string
}

// Checker probes one URL until it answers with an accepted status.
type Checker struct {
	URL          string
	Accept       Accepter
	Retries      int           // probes before giving up
	Interval     time.Duration // between the starts of two probes
	Timeout      time.Duration // per probe
	StartupDelay time.Duration // before the first probe
	// StartInterval, when shorter than Interval, is the time between probes
	// until the first accepted answer, like Docker's healthcheck
	// start_interval: probes go out every StartInterval for the first
	// fastPeriod, then back off toward Interval. Retries × Interval (after
	// StartupDelay) is then a deadline rather than a count of probes, so a
	// fast start costs a slow app none of its budget.
	StartInterval time.Duration
	// WatchEvery is how often Watch is called between probes (default 100ms).
	WatchEvery time.Duration
	// Client is the HTTP client; nil makes one that opens a new connection
	// per probe and does not follow redirects, so a 301 is reported as such.
	Client *http.Client
}

// Watch reports a problem with the container behind the URL (it exited or
// restarted); a non-nil error ends the wait at once with that error.
type Watch func(ctx context.Context) error

// Attempt is one probe.
type Attempt struct {
	N       int
	At      time.Duration // since the wait began
	Status  int           // 0 when no HTTP answer came
	Detail  string        // the error, or the start of the body
	Elapsed time.Duration
}

func (a Attempt) String() string {
	if a.Status == 0 {
		return fmt.Sprintf("#%d at %s: %s", a.N, a.At.Round(time.Millisecond), a.Detail)
	}
	return fmt.Sprintf("#%d at %s: HTTP %d %s", a.N, a.At.Round(time.Millisecond), a.Status, a.Detail)
}

// Result is what the wait saw.
type Result struct {
	Attempts []Attempt
	Elapsed  time.Duration
}

// Last returns the last attempt, or a zero Attempt.
func (r Result) Last() Attempt {
	if len(r.Attempts) == 0 {
		return Attempt{}
	}
	return r.Attempts[len(r.Attempts)-1]
}

// Wait probes until an accepted answer, the retries are spent, watch
// reports a problem or ctx ends. onAttempt, when not nil, sees each probe as
// it finishes (for live logs).
func (c *Checker) Wait(ctx context.Context, watch Watch, onAttempt func(Attempt)) (Result, error) {
	start := time.Now()
	var res Result
	client := c.Client
	if client == nil {
		client = newClient()
	}
	watchEvery := c.WatchEvery
	if watchEvery <= 0 {
		watchEvery = 100 * time.Millisecond
	}
	ticker := time.NewTicker(watchEvery)
	defer ticker.Stop()

	next := time.NewTimer(c.StartupDelay)
	defer next.Stop()
	done := make(chan Attempt, 1)
	probeCtx, cancelProbe := context.WithCancel(ctx)
	defer cancelProbe()

	for {
		select {
		case <-ctx.Done():
			res.Elapsed = time.Since(start)
			return res, fmt.Errorf("health check of %s interrupted after %d attempt(s): %w", c.URL, len(res.Attempts), context.Cause(ctx))
		case <-ticker.C:
			if watch == nil {
				continue
			}
			if err := watch(ctx); err != nil {
				res.Elapsed = time.Since(start)
				return res, err
			}
		case <-next.C:
			n := len(res.Attempts) + 1
			go func() { done <- c.probe(probeCtx, client, n, start) }()
		case a := <-done:
			res.Attempts = append(res.Attempts, a)
			if onAttempt != nil {
				onAttempt(a)
			}
			if a.Status != 0 && c.Accept.Contains(a.Status) {
				res.Elapsed = time.Since(start)
				return res, nil
			}
			wait := c.nextWait(a, time.Since(start))
			if c.spent(len(res.Attempts), time.Since(start)+wait) {
				res.Elapsed = time.Since(start)
				// A last look at the container: if it died, that is the cause.
				if watch != nil {
					if err := watch(ctx); err != nil {
						return res, err
					}
				}
				return res, fmt.Errorf("%w: %s did not answer with status %s after %d attempts over %s (last: %s)",
					ErrUnhealthy, c.URL, c.Accept, len(res.Attempts), res.Elapsed.Round(time.Millisecond), describe(a))
			}
			next.Reset(wait)
		}
	}
}

// fastPeriod is how long probes go out every StartInterval before they
// back off toward Interval: most apps answer within it, and an app that
// takes longer (a JVM on a small host) is not probed ten times a second
// for a minute.
const fastPeriod = 5 * time.Second

// fast reports whether probes go out every StartInterval.
func (c *Checker) fast() bool { return c.StartInterval > 0 && c.StartInterval < c.Interval }

// nextWait is the time from the end of probe a to the start of the next
// one: the next probe starts one interval after a started.
func (c *Checker) nextWait(a Attempt, elapsed time.Duration) time.Duration {
	interval := c.Interval
	if c.fast() {
		interval = c.StartInterval
		if over := elapsed - c.StartupDelay - fastPeriod; over > 0 {
			// Back off by half the time past the fast period: 2 s after it
			// the interval is 1 s longer, capped at Interval.
			interval = min(c.Interval, c.StartInterval+over/2)
		}
	}
	return max(interval-a.Elapsed, 0)
}

// spent reports whether the budget is used up: Retries probes, or with
// StartInterval the deadline Retries × Interval after StartupDelay, which
// the next probe would start after.
func (c *Checker) spent(attempts int, nextAt time.Duration) bool {
	if !c.fast() {
		return attempts >= c.Retries
	}
	return nextAt > c.StartupDelay+time.Duration(c.Retries)*c.Interval
}

func describe(a Attempt) string {
	if a.Status == 0 {
		return a.Detail
	}
	if a.Detail == "" {
		return fmt.Sprintf("HTTP %d", a.Status)
	}
	return fmt.Sprintf("HTTP %d %s", a.Status, a.Detail)
}

func (c *Checker) probe(ctx context.Context, client *http.Client, n int, start time.Time) Attempt {
	began := time.Now()
	a := Attempt{N: n, At: began.Sub(start)}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		a.Detail = err.Error()
		a.Elapsed = time.Since(began)
		return a
	}
	req.Header.Set("User-Agent", "bluegreen-health-check")
	resp, err := client.Do(req)
	a.Elapsed = time.Since(began)
	if err != nil {
		a.Detail = shortError(err, c.Timeout)
		return a
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	a.Status = resp.StatusCode
	// The body is the app's text, not ours: quoted, so that nothing in it
	// can start a line of the job log or pass for a workflow command.
	detail := strings.TrimSpace(string(body))
	if len(detail) > 80 {
		detail = strings.ToValidUTF8(detail[:80], "") + "…"
	}
	if detail != "" {
		a.Detail = strconv.Quote(detail)
	}
	return a
}

// shortError turns a transport error into what a user can act on.
func shortError(err error, timeout time.Duration) string {
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "Client.Timeout"):
		return fmt.Sprintf("no answer within health-timeout %s", timeout)
	case strings.Contains(msg, "connection refused"):
		return "connection refused (nothing listens on the port yet)"
	case strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF"):
		return "connection closed without an HTTP answer (the app does not listen yet)"
	}
	return msg
}

func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

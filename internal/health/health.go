// Package health proves a new color healthy: an HTTP answer with an
// accepted status, never a bare TCP connect (Docker's userland proxy accepts
// on a published port before the app listens). It also watches the
// container while it waits, so a container that exits ends the wait at once
// instead of after every retry has been spent.
package health

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrUnhealthy means the app never gave an accepted answer in time.
var ErrUnhealthy = errors.New("health check failed")

// Accepter decides which HTTP statuses count as healthy
// (httpstatus.Set is the one the action's health-status configures).
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

	// Scheme, when set ("http" or "https"), replaces URL's scheme: the
	// deploy builds its URLs from published ports as http://host:port,
	// and an app that serves only TLS is probed over https instead.
	Scheme string
	// Host is the Host header of every probe; empty sends the URL's host.
	// Apps that check it (Django's ALLOWED_HOSTS, a virtual host) answer
	// 400 to 127.0.0.1. Over https it is also the name the certificate is
	// checked against (SNI).
	Host string
	// Header holds extra request headers (a token, say). Their values are
	// never put into an Attempt or an error.
	Header http.Header
	// InsecureTLS accepts any certificate over https (a self-signed one).
	InsecureTLS bool
	// RootCAs are the certificate authorities trusted over https; nil
	// means the system's.
	RootCAs *x509.CertPool

	// Client is the HTTP client; nil makes one per Wait that keeps its
	// connection alive between probes and does not follow redirects, so a
	// 301 is reported as such.
	Client *http.Client
	// Clock schedules the probes; nil is the system's clock.
	Clock Clock
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
	clock := c.Clock
	if clock == nil {
		clock = realClock{}
	}
	start := clock.Now()
	since := func() time.Duration { return clock.Now().Sub(start) }
	var res Result
	pr, err := c.prober(clock)
	if err != nil {
		return res, err
	}
	defer pr.close()

	// The container is watched only when there is a watch to call.
	var watchTimer Timer
	var watchC <-chan time.Time
	watchEvery := c.WatchEvery
	if watchEvery <= 0 {
		watchEvery = 100 * time.Millisecond
	}
	if watch != nil {
		watchTimer = clock.NewTimer(watchEvery)
		defer watchTimer.Stop()
		watchC = watchTimer.C()
	}
	next := clock.NewTimer(c.StartupDelay)
	defer next.Stop()
	done := make(chan Attempt, 1)
	probeCtx, cancelProbe := context.WithCancel(ctx)
	defer cancelProbe()

	for {
		select {
		case <-ctx.Done():
			res.Elapsed = since()
			return res, fmt.Errorf("health check of %s interrupted after %d attempt(s): %w", pr.url, len(res.Attempts), context.Cause(ctx))
		case <-watchC:
			if err := watch(ctx); err != nil {
				res.Elapsed = since()
				return res, err
			}
			watchTimer.Reset(watchEvery)
		case <-next.C():
			n := len(res.Attempts) + 1
			at := since()
			go func() { done <- pr.probe(probeCtx, n, at) }()
		case a := <-done:
			res.Attempts = append(res.Attempts, a)
			if onAttempt != nil {
				onAttempt(a)
			}
			if a.Status != 0 && c.Accept.Contains(a.Status) {
				res.Elapsed = since()
				return res, nil
			}
			wait := c.nextWait(a, since())
			if c.spent(len(res.Attempts), since()+wait) {
				res.Elapsed = since()
				// A last look at the container: if it died, that is the cause.
				if watch != nil {
					if err := watch(ctx); err != nil {
						return res, err
					}
				}
				return res, c.failure(pr.url, res)
			}
			next.Reset(wait)
		}
	}
}

// failure is the error of a wait whose budget is spent. An app that
// answers 404 to the end most likely has no route at the probed path, so
// the error says so and names the path, rather than leave the user to
// tell a wrong health-path from a slow start.
func (c *Checker) failure(url string, res Result) error {
	last := res.Last()
	err := fmt.Errorf("%w: %s did not answer with status %s after %d attempts over %s (last: %s)",
		ErrUnhealthy, url, c.Accept, len(res.Attempts), res.Elapsed.Round(time.Millisecond), describe(last))
	if last.Status != http.StatusNotFound {
		return err
	}
	notFound := 0
	for _, a := range res.Attempts {
		if a.Status == http.StatusNotFound {
			notFound++
		}
	}
	return fmt.Errorf("%w; it answered 404 Not Found %d time(s), so the path %q is probably wrong: check health-path", err, notFound, pathOf(url))
}

// fastPeriod is how long probes go out every StartInterval before they
// back off: most apps answer within it, and an app that takes longer (a
// JVM on a small host) is not probed ten times a second for a minute.
const fastPeriod = 5 * time.Second

// slowestStart is the sparsest probing before the first healthy answer,
// however long Interval is: kamal-proxy probes a starting target once a
// second (its DefaultHealthCheckInterval), and a deploy here is not to
// notice a ready app later than kamal-proxy would.
const slowestStart = time.Second

// fast reports whether probes go out every StartInterval.
func (c *Checker) fast() bool { return c.StartInterval > 0 && c.StartInterval < c.Interval }

// nextWait is the time from the end of probe a to the start of the next
// one: the next probe starts one interval after a started.
func (c *Checker) nextWait(a Attempt, elapsed time.Duration) time.Duration {
	interval := c.Interval
	if c.fast() {
		interval = c.StartInterval
		if over := elapsed - c.StartupDelay - fastPeriod; over > 0 {
			// Back off by half the time past the fast period: 1 s after it
			// the interval is 500 ms longer, capped at slowestStart and at
			// Interval.
			interval = max(c.StartInterval, min(c.Interval, slowestStart, c.StartInterval+over/2))
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

package nginx

// The judgement of a canary step, on nginx's evidence alone.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// ErrCanaryFailed means the new color's evidence broke a limit.
var ErrCanaryFailed = errors.New("the canary failed on nginx's evidence")

// Defaults of Limits.
const (
	// DefaultMaxErrorRate is issue 20's canary-max-error-rate default: 1 %.
	DefaultMaxErrorRate = 0.01
	// DefaultLatencyFloor is the p95 below which latency never fails:
	// nginx logs times in whole milliseconds, and a ratio of two times a
	// few milliseconds long says more about scheduling than about the app.
	DefaultLatencyFloor = 10 * time.Millisecond
	// DefaultMinLatencyRequests is how many requests each color needs for
	// the latency comparison: a p95 of fewer is one slow request.
	DefaultMinLatencyRequests = 20
)

// Limits is what a canary step must stay within.
type Limits struct {
	// MaxErrorRate is the share of the new color's requests nginx may
	// answer with 5xx (0.01 is 1 %); above it the step fails. Negative
	// means DefaultMaxErrorRate; 0 allows none.
	MaxErrorRate float64
	// MaxLatencyRatio fails the step when the new color's p95 is above
	// this many times the old color's (1.5: 50 % slower); 0 turns the
	// check off.
	MaxLatencyRatio float64
	// LatencyFloor is a p95 that never fails; 0 means DefaultLatencyFloor.
	LatencyFloor time.Duration
	// MinLatencyRequests is the fewest requests per color for the latency
	// check; 0 means DefaultMinLatencyRequests.
	MinLatencyRequests int64
}

// ColorEvidence is one color's row of a step's summary table.
type ColorEvidence struct {
	Color    color.Color
	Requests int64
	Errors   int64
	P95      time.Duration
}

func (c ColorEvidence) String() string {
	return fmt.Sprintf("%s %d requests, %d 5xx, p95 %s", c.Color, c.Requests, c.Errors, fmtMillis(c.P95))
}

// Verdict is the judgement of one step, with the evidence it rests on.
type Verdict struct {
	Old, New ColorEvidence
	// Problems name each limit the new color broke; empty when it passed.
	Problems []string
	// Inconclusive is true when no request reached the new color: nothing
	// to judge (no traffic, or a location with its own access_log).
	Inconclusive bool
}

// Evidence is the step's evidence in one line, for logs and errors.
func (v Verdict) Evidence() string { return v.Old.String() + "; " + v.New.String() }

// CanaryError is a failed step; it wraps ErrCanaryFailed.
type CanaryError struct{ Verdict Verdict }

func (e *CanaryError) Error() string {
	return fmt.Sprintf("%s: %s (evidence from nginx: %s)", ErrCanaryFailed, strings.Join(e.Verdict.Problems, "; "), e.Verdict.Evidence())
}

func (e *CanaryError) Unwrap() error { return ErrCanaryFailed }

// Judge weighs a step's evidence: the new color fails when the share of
// its requests answered 5xx is above MaxErrorRate, or when its p95 is
// above MaxLatencyRatio × the old color's (both with enough requests, and
// the new p95 above the floor). The error is a *CanaryError naming the
// evidence; the Verdict is returned either way, for the summary's table.
func Judge(ev Evidence, old, next color.Color, l Limits) (Verdict, error) {
	os, ns := ev.Of(old), ev.Of(next)
	v := Verdict{
		Old: ColorEvidence{Color: old, Requests: os.Requests, Errors: os.Errors, P95: os.P95()},
		New: ColorEvidence{Color: next, Requests: ns.Requests, Errors: ns.Errors, P95: ns.P95()},
	}
	if ns.Requests == 0 {
		v.Inconclusive = true
		return v, nil
	}
	maxRate := l.MaxErrorRate
	if maxRate < 0 {
		maxRate = DefaultMaxErrorRate
	}
	if rate := ns.ErrorRate(); rate > maxRate {
		v.Problems = append(v.Problems, fmt.Sprintf("nginx answered %d of %s's %d requests with 5xx (%s), above the maximum error rate of %s",
			ns.Errors, next, ns.Requests, pct(rate), pct(maxRate)))
	}
	floor, minReq := l.LatencyFloor, l.MinLatencyRequests
	if floor <= 0 {
		floor = DefaultLatencyFloor
	}
	if minReq <= 0 {
		minReq = DefaultMinLatencyRequests
	}
	if l.MaxLatencyRatio > 0 && os.Requests >= minReq && ns.Requests >= minReq && v.New.P95 > floor {
		limit := time.Duration(float64(v.Old.P95) * l.MaxLatencyRatio)
		if v.New.P95 > limit {
			v.Problems = append(v.Problems, fmt.Sprintf("%s's p95 latency %s is above %g × %s's %s",
				next, fmtMillis(v.New.P95), l.MaxLatencyRatio, old, fmtMillis(v.Old.P95)))
		}
	}
	if len(v.Problems) > 0 {
		return v, &CanaryError{Verdict: v}
	}
	return v, nil
}

func pct(f float64) string { return fmt.Sprintf("%.1f %%", f*100) }

func fmtMillis(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

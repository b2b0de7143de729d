package fleet

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// TestLockErrorKeepsWhatFits: what a lock's helper said is kept whole up
// to maxSaid characters, and cut with an ellipsis beyond.
func TestLockErrorKeepsWhatFits(t *testing.T) {
	t.Parallel()
	fits := strings.Repeat("é", maxSaid-len("failed ")) // runes, not bytes
	require.EqualError(t, lockError("failed "+fits, 1, nil), fits)
	require.EqualError(t, lockError("failed "+fits+"x", 1, nil), fits+"…")
}

// TestRetryCountsTries: the line that says a retried call went through
// names the try it took.
func TestRetryCountsTries(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	r := &rollout{rep: rec, clock: *fakeClock(), opts: Options{RetryWindow: time.Minute}}
	fails := 2
	err := r.retry(context.Background(), "read the live color of h1", true, func() error {
		if fails > 0 {
			fails--
			return &TransientError{Err: errors.New("connection refused")}
		}
		return nil
	})
	require.NoError(t, err)
	require.Contains(t, rec.Lines(), "read the live color of h1: done at try 3")
}

// TestFromDeployPhases: each phase of a host's deploy says whether it
// failed, and how long it took.
func TestFromDeployPhases(t *testing.T) {
	t.Parallel()
	res := &deploy.Result{Mode: config.ModeDeploy, Previous: color.Blue, Active: color.Blue, Elapsed: 1500 * time.Millisecond, Phases: []deploy.Phase{
		{Kind: deploy.PhaseHealth, Name: "Health check", Duration: time.Second, Err: errors.New("got 500")},
		{Kind: deploy.PhaseHealth, Name: "Pull", Duration: 2 * time.Second},
	}}
	hr := FromDeploy(res, nil, nil)
	require.Equal(t, []PhaseTime{
		{Kind: deploy.PhaseHealth, Name: "Health check", MS: 1000, Failed: true},
		{Kind: deploy.PhaseHealth, Name: "Pull", MS: 2000},
	}, hr.Phases)
	require.Equal(t, 1500*time.Millisecond, hr.Elapsed())
}

// TestParseResultLineSizeLimit: a result line of up to maxResultLine
// bytes is read; a longer one is refused.
func TestParseResultLineSizeLimit(t *testing.T) {
	t.Parallel()
	hr := HostResult{Mode: config.ModeStatus, Active: "blue", Failure: &Failure{Cause: ""}}
	pad := maxResultLine - len(ResultLine("tok", hr))
	hr.Failure.Cause = strings.Repeat("x", pad)
	line := ResultLine("tok", hr)
	require.Len(t, line, maxResultLine)
	got, ok := ParseResultLine("tok", line)
	require.True(t, ok, "exactly the limit")
	require.Len(t, got.Failure.Cause, pad)

	hr.Failure.Cause += "x"
	_, ok = ParseResultLine("tok", ResultLine("tok", hr))
	require.False(t, ok, "one byte over")
}

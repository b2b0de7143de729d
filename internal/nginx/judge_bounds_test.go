package nginx

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// TestJudgeAtTheLimits: each limit is "above fails": a step exactly at the
// error rate, at the latency ratio or at the floor passes; 0 as an error
// rate allows no 5xx; 0 as a ratio turns the latency check off; the
// fewest requests for the latency check are enough; set values replace
// the defaults.
func TestJudgeAtTheLimits(t *testing.T) {
	t.Parallel()
	stats := func(req, errs int64, ms int64) Stats {
		var s Stats
		for i := int64(0); i < req; i++ {
			s.latency.add(ms)
		}
		s.Requests, s.Errors = req, errs
		return s
	}
	for _, tt := range []struct {
		name      string
		blue, grn Stats
		limits    Limits
		fails     bool
	}{
		{"a rate of 0 allows no 5xx", stats(100, 0, 20), stats(1000, 1, 20), Limits{MaxErrorRate: 0}, true},
		{"exactly at the rate", stats(100, 0, 20), stats(200, 2, 20), Limits{MaxErrorRate: 0.01}, false},
		{"ratio 0 is off", stats(100, 0, 20), stats(100, 0, 500), Limits{}, false},
		{"exactly at the ratio", stats(100, 0, 20), stats(100, 0, 40), Limits{MaxLatencyRatio: 2}, false},
		{"just above the ratio", stats(100, 0, 20), stats(100, 0, 41), Limits{MaxLatencyRatio: 2}, true},
		{"exactly at the floor", stats(100, 0, 2), stats(100, 0, 10), Limits{MaxLatencyRatio: 2}, false},
		{"just above the floor", stats(100, 0, 2), stats(100, 0, 11), Limits{MaxLatencyRatio: 2}, true},
		{"a set floor", stats(100, 0, 20), stats(100, 0, 45), Limits{MaxLatencyRatio: 2, LatencyFloor: 50 * time.Millisecond}, false},
		{"old has the fewest requests", stats(DefaultMinLatencyRequests, 0, 20), stats(100, 0, 100), Limits{MaxLatencyRatio: 2}, true},
		{"new has the fewest requests", stats(100, 0, 20), stats(DefaultMinLatencyRequests, 0, 100), Limits{MaxLatencyRatio: 2}, true},
		{"old has one too few", stats(DefaultMinLatencyRequests-1, 0, 20), stats(100, 0, 100), Limits{MaxLatencyRatio: 2}, false},
		{"a set minimum", stats(100, 0, 20), stats(30, 0, 100), Limits{MaxLatencyRatio: 2, MinLatencyRequests: 31}, false},
	} {
		v, err := Judge(Evidence{Blue: tt.blue, Green: tt.grn}, color.Blue, color.Green, tt.limits)
		if tt.fails {
			assert.ErrorIs(t, err, ErrCanaryFailed, tt.name)
			assert.NotEmpty(t, v.Problems, tt.name)
		} else {
			assert.NoError(t, err, tt.name)
			assert.Empty(t, v.Problems, tt.name)
		}
		assert.False(t, v.Inconclusive, tt.name)
	}
	v, err := Judge(Evidence{Blue: stats(100, 0, 20)}, color.Blue, color.Green, Limits{})
	assert.NoError(t, err)
	assert.True(t, v.Inconclusive, "no request reached the new color")
}

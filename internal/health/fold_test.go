package health

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// logged runs attempts through Folded and returns the lines it printed.
func logged(every time.Duration, attempts []Attempt) []string {
	var lines []string
	log := Folded(every, func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) })
	for _, a := range attempts {
		log(a)
	}
	return lines
}

// probesEvery makes n attempts spaced by step, numbered from first, each
// answered as answer says.
func probesEvery(first, n int, step time.Duration, answer func(i int) Attempt) []Attempt {
	out := make([]Attempt, 0, n)
	for i := range n {
		a := answer(i)
		a.N, a.At = first+i, time.Duration(first+i-1)*step
		out = append(out, a)
	}
	return out
}

func refused(int) Attempt {
	return Attempt{Detail: "connection refused (nothing listens on the port yet)"}
}

func TestFoldedAppReadyAfterOneSecond(t *testing.T) {
	t.Parallel()
	// 100 ms apart: refused for a second, then healthy.
	attempts := probesEvery(1, 10, 100*time.Millisecond, refused)
	attempts = append(attempts, Attempt{N: 11, At: time.Second, Status: 200, Detail: `"ok"`})
	require.Equal(t, []string{
		"    probe #1 at 0s: connection refused (nothing listens on the port yet)",
		"    (9 more probe(s) with the same answer)",
		`    probe #11 at 1s: HTTP 200 "ok"`,
	}, logged(2*time.Second, attempts))
}

// TestFoldedMinuteOfFailures: a minute of probes 100 ms apart (600) is
// one line every 2 s, not 600.
func TestFoldedMinuteOfFailures(t *testing.T) {
	t.Parallel()
	lines := logged(2*time.Second, probesEvery(1, 600, 100*time.Millisecond, func(i int) Attempt {
		// The body changes at every probe (an uptime); the status does not.
		return Attempt{Status: 503, Detail: fmt.Sprintf(`"up %dms"`, 100*i)}
	}))
	require.Len(t, lines, 30)
	require.Equal(t, `    probe #1 at 0s: HTTP 503 "up 0ms"`, lines[0])
	require.Equal(t, `    probe #21 at 2s: HTTP 503 "up 2000ms" (and 19 more alike since #1)`, lines[1])
	require.Equal(t, `    probe #581 at 58s: HTTP 503 "up 58000ms" (and 19 more alike since #561)`, lines[29])
}

// TestFoldedShowsChanges: another status, or another transport error, is
// shown at once, after the count of the probes it ends.
func TestFoldedShowsChanges(t *testing.T) {
	t.Parallel()
	attempts := []Attempt{
		{N: 1, At: 0, Detail: "connection refused"},
		{N: 2, At: 100 * time.Millisecond, Detail: "connection refused"},
		{N: 3, At: 200 * time.Millisecond, Detail: "connection closed without an HTTP answer"},
		{N: 4, At: 300 * time.Millisecond, Status: 503},
		{N: 5, At: 400 * time.Millisecond, Status: 404},
		{N: 6, At: 500 * time.Millisecond, Status: 404},
		{N: 7, At: 2500 * time.Millisecond, Status: 404},
		{N: 8, At: 4500 * time.Millisecond, Status: 404},
	}
	require.Equal(t, []string{
		"    probe #1 at 0s: connection refused",
		"    (1 more probe(s) with the same answer)",
		"    probe #3 at 200ms: connection closed without an HTTP answer",
		"    probe #4 at 300ms: HTTP 503 ",
		"    probe #5 at 400ms: HTTP 404 ",
		"    probe #7 at 2.5s: HTTP 404  (and 1 more alike since #5)",
		"    probe #8 at 4.5s: HTTP 404 ",
	}, logged(2*time.Second, attempts))
}

package lock

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// injection is a holder record another process could have written: each
// text field tries to start a line with a workflow command or to hold a
// ##[ command, which the runner finds anywhere in a line.
var injection = Holder{
	PID:      4242,
	RunID:    "1\n::set-output name=x::y",
	SHA:      "\r##[error]boom",
	Workflow: "\u2028::add-mask::x",
	Host:     strings.Repeat("h", 1000),
	Started:  time.Now().Add(-time.Minute),
}

// requireSafeLine fails unless s stays on one line of a job log and holds
// no workflow command.
func requireSafeLine(t *testing.T, s string) {
	t.Helper()
	require.NotContains(t, s, "\n")
	require.NotContains(t, s, "\r")
	require.NotContains(t, s, "\u2028")
	require.NotContains(t, s, "\u2029")
	require.NotContains(t, s, "\u0085")
	require.NotContains(t, s, "##[")
	require.False(t, strings.HasPrefix(strings.TrimSpace(s), "::"), "%q starts with ::", s)
}

func TestHolderStringIsSafeInAJobLog(t *testing.T) {
	t.Parallel()
	for _, h := range []Holder{
		injection,
		{PID: 1, RunID: "::warning::x", SHA: "##[group]x"},
		{PID: 1, RunID: "\x1b[31mred\x00", SHA: strings.Repeat("#", 100)},
		{PID: 1, RunID: strings.Repeat("9", 5000)},
	} {
		s := h.String()
		requireSafeLine(t, s)
		require.Less(t, len(s), 400, "fields are capped: %q", s)
	}
	require.Equal(t, "pid 7, run 41, commit abcdef012345", Holder{PID: 7, RunID: "41", SHA: "abcdef0123456789"}.String(), "a plain record reads as before")
	require.Equal(t, `pid 4242, run "1\n::set-output name=x::y", commit "\r\x23\x23[error]bo"`, Holder{PID: 4242, RunID: injection.RunID, SHA: injection.SHA}.String())
}

// TestPlantedRecordIsPrintedSafely: the holder's record is read from the
// lock file, where another process could have written anything; the
// message a waiter prints stays one safe line.
func TestPlantedRecordIsPrintedSafely(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	holder, err := Acquire(context.Background(), dir, "app", Holder{}, time.Second, nil)
	require.NoError(t, err)
	defer holder.Release()
	data, err := json.Marshal(injection)
	require.NoError(t, err)
	require.NoError(t, holder.f.Truncate(0))
	_, err = holder.f.WriteAt(data, 0)
	require.NoError(t, err)

	var seen string
	_, err = Acquire(context.Background(), dir, "app", Holder{}, 200*time.Millisecond, func(h Holder) { seen = h.String() })
	require.ErrorIs(t, err, ErrTimeout)
	require.Contains(t, seen, "pid 4242")
	requireSafeLine(t, seen)
	requireSafeLine(t, err.Error())

	// A record too long to be one of ours is not read whole.
	require.NoError(t, holder.f.Truncate(0))
	_, err = holder.f.WriteAt([]byte(`{"pid":1,"run_id":"`+strings.Repeat("x", 1<<20)+`"}`), 0)
	require.NoError(t, err)
	h, err := ReadHolder(dir, "app")
	require.NoError(t, err)
	require.Equal(t, Holder{}, h)
}

// TestPlainFieldsArePrintedBare: a field made only of letters, digits and
// -_. is printed as it is, the bounds of each range included; anything
// else is quoted.
func TestPlainFieldsArePrintedBare(t *testing.T) {
	t.Parallel()
	for _, plain := range []string{"azAZ09", "a", "z", "A", "Z", "0", "9", "-_."} {
		require.Equal(t, "pid 1, run "+plain, Holder{PID: 1, RunID: plain}.String())
	}
	for _, quoted := range []string{"`", "{", "@", "[", "/", ":", " "} {
		require.Equal(t, "pid 1, run "+strconv.Quote(quoted), Holder{PID: 1, RunID: quoted}.String())
	}
}

// TestFieldsAreCutOnlyBeyondTheCap: a field as long as its cap is printed
// whole, bytes and all (an invalid UTF-8 byte stays \xff, not U+FFFD);
// one rune more and it is cut to the cap (in runes, so an invalid byte
// becomes U+FFFD).
func TestFieldsAreCutOnlyBeyondTheCap(t *testing.T) {
	t.Parallel()
	exact := "\xff" + strings.Repeat("x", 31) // 32 runes: the run id's cap
	require.Equal(t, `pid 1, run "\xff`+strings.Repeat("x", 31)+`"`, Holder{PID: 1, RunID: exact}.String())
	require.Equal(t, `pid 1, run "\ufffd`+strings.Repeat("x", 31)+`"`, Holder{PID: 1, RunID: exact + "y"}.String(), "cut to 32 runes")
}

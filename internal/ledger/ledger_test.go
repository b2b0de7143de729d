package ledger

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func entry(i int, r Result) Entry {
	return Entry{DeployID: fmt.Sprintf("d%02d", i), Time: time.Unix(int64(i), 0).UTC(), Mode: "deploy", Result: r,
		Images: map[string]Image{"web": {Ref: fmt.Sprintf("app:v%d", i), ID: "sha256:" + strings.Repeat("a", 64)}}}
}

func TestAppendKeepsTheNewestWithinTheLimit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "bluegreen")
	l, err := New(dir, "app", 3)
	require.NoError(t, err)
	entries, _, err := l.Entries()
	require.NoError(t, err)
	require.Empty(t, entries, "no history yet is not an error")
	for i := 1; i <= 5; i++ {
		require.NoError(t, l.Append(entry(i, Succeeded)))
	}
	entries, skipped, err := l.Entries()
	require.NoError(t, err)
	require.Zero(t, skipped)
	require.Len(t, entries, 3)
	require.Equal(t, "d03", entries[0].DeployID)
	require.Equal(t, "d05", entries[2].DeployID)
	require.Equal(t, "app:v5", entries[2].Images["web"].Ref)

	got, err := l.Find("d04")
	require.NoError(t, err)
	require.Equal(t, "app:v4", got.Images["web"].Ref)
	_, err = l.Find("d01")
	require.ErrorIs(t, err, ErrNotFound)

	for _, p := range []string{dir, filepath.Join(dir, "app")} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), p)
	}
}

// TestAKilledWriteLeavesAValidHistory: a run killed while writing leaves
// a temp file and the old history; a hand-edited line is skipped; the next
// run appends to what is valid.
func TestAKilledWriteLeavesAValidHistory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := New(dir, "app", 10)
	require.NoError(t, err)
	require.NoError(t, l.Append(entry(1, Succeeded)))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app", ".history.jsonl.tmp-dead"), []byte(`{"deploy_id":"half`), 0o600))
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, _ = f.WriteString("not json\n")
	f.Close()

	require.NoError(t, l.Append(entry(2, Failed)))
	entries, skipped, err := l.Entries()
	require.NoError(t, err)
	require.Zero(t, skipped, "the unparsable line was dropped on the rewrite")
	require.Len(t, entries, 2)
	temps, _ := filepath.Glob(filepath.Join(dir, "app", ".history.jsonl.tmp-*"))
	require.Empty(t, temps)
	require.Equal(t, []string{"d01"}, ids(LastSucceeded(entries, 3)))
}

func TestRefusesASharedDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o777))
	l, err := New(dir, "app", 10)
	require.NoError(t, err)
	require.ErrorContains(t, l.Append(entry(1, Succeeded)), "is writable by group or others")
	_, err = New(dir, "../etc", 10)
	require.Error(t, err)
}

func ids(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.DeployID)
	}
	return out
}

// TestFindReturnsTheNewestEntryOfAnID: a promote records the deploy id of
// the stage it promotes, so one id can hold several entries; rollback to
// that id must use what was promoted last, not what was staged first.
func TestFindReturnsTheNewestEntryOfAnID(t *testing.T) {
	t.Parallel()
	l, err := New(t.TempDir(), "app", 10)
	require.NoError(t, err)
	staged := entry(1, Succeeded)
	staged.Mode = "stage"
	promoted := entry(1, Succeeded)
	promoted.Mode = "promote"
	promoted.Images = map[string]Image{"web": {Ref: "app:promoted"}}
	require.NoError(t, l.Append(staged))
	require.NoError(t, l.Append(entry(2, Succeeded)))
	require.NoError(t, l.Append(promoted))
	got, err := l.Find("d01")
	require.NoError(t, err)
	require.Equal(t, "promote", got.Mode)
	require.Equal(t, "app:promoted", got.Images["web"].Ref)
}

// TestLimitOfOneKeepsOne: a limit of 1 is a limit, not "use the default";
// only below 1 is the default used.
func TestLimitOfOneKeepsOne(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ limit, want int }{{1, 1}, {0, 3}, {-1, 3}} {
		l, err := New(t.TempDir(), "app", tt.limit)
		require.NoError(t, err)
		for i := 1; i <= 3; i++ {
			require.NoError(t, l.Append(entry(i, Succeeded)))
		}
		entries, _, err := l.Entries()
		require.NoError(t, err)
		require.Len(t, entries, tt.want, "limit %d", tt.limit)
		require.Equal(t, "d03", entries[len(entries)-1].DeployID)
		got, err := l.Find(entries[0].DeployID)
		require.NoError(t, err, "the oldest entry kept is found too")
		require.Equal(t, entries[0].DeployID, got.DeployID)
	}
}

// TestEntriesCountsWhatItSkips: lines that are not entries (a hand edit,
// an entry without a deploy id) are skipped and counted, so that mode
// history can say so.
func TestEntriesCountsWhatItSkips(t *testing.T) {
	t.Parallel()
	l, err := New(t.TempDir(), "app", 10)
	require.NoError(t, err)
	require.NoError(t, l.Append(entry(1, Succeeded)))
	f, err := os.OpenFile(l.Path(), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("not json\n{\"mode\":\"deploy\"}\n\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	entries, skipped, err := l.Entries()
	require.NoError(t, err)
	require.Equal(t, 2, skipped)
	require.Equal(t, []string{"d01"}, ids(entries))
}

// TestLastSucceeded: the last n successful deploys, newest first; failed
// runs and the read-only modes do not count.
func TestLastSucceeded(t *testing.T) {
	t.Parallel()
	status := entry(5, Succeeded)
	status.Mode = "status"
	history := entry(6, Succeeded)
	history.Mode = "history"
	entries := []Entry{entry(1, Succeeded), entry(2, Succeeded), entry(3, Failed), entry(4, Succeeded), status, history, entry(7, RolledBack)}
	require.Equal(t, []string{"d04", "d02"}, ids(LastSucceeded(entries, 2)))
	require.Equal(t, []string{"d04", "d02", "d01"}, ids(LastSucceeded(entries, 5)))
	require.Empty(t, LastSucceeded(entries, 0))
}

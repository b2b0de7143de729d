package nginx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWritePageSizeLimit: a page of exactly MaxPageSize is written, one
// byte more is refused before anything is written.
func TestWritePageSizeLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "page.html")
	require.NoError(t, WritePage(path, make([]byte, MaxPageSize)))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, int64(MaxPageSize), fi.Size())
	big := filepath.Join(dir, "big.html")
	err = WritePage(big, make([]byte, MaxPageSize+1))
	assert.ErrorContains(t, err, "at most 1048576")
	_, err = os.Stat(big)
	assert.True(t, os.IsNotExist(err))
}

// TestMaintenanceRetryAfter: Retry-After is the one asked for, and 0 (or
// less) means the default.
func TestMaintenanceRetryAfter(t *testing.T) {
	t.Parallel()
	blue, _ := goldenData()
	prev, err := MustParseTemplate(DefaultTemplate).Render(blue)
	require.NoError(t, err)
	for retry, want := range map[time.Duration]string{0: "Retry-After 60 ", -time.Second: "Retry-After 60 ", time.Second: "Retry-After 1 "} {
		b, err := RenderMaintenance(Maintenance{Previous: prev, RetryAfter: retry})
		require.NoError(t, err)
		assert.Contains(t, string(b), want, "RetryAfter %s", retry)
	}
}

// TestMarkerEdges: a canary share of 100 reads back, 101 is refused; a
// marker answer of 512 bytes is read, 513 is not.
func TestMarkerEdges(t *testing.T) {
	t.Parallel()
	m, found, err := ReadMarker([]byte("# bluegreen: color=blue deploy=a canary=green:100 next=b\n"))
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, 100, m.Percent)
	_, _, err = ReadMarker([]byte("# bluegreen: color=blue deploy=a canary=green:101 next=b\n"))
	assert.ErrorContains(t, err, "canary share 101 % is above 100")

	prefix := "color=blue deploy="
	at := prefix + strings.Repeat("d", 512-len(prefix))
	got, ok := ParseMarkerAnswer(at + "\n")
	assert.True(t, ok)
	assert.Equal(t, at[len(prefix):], got.DeployID)
	_, ok = ParseMarkerAnswer(at + "d\n")
	assert.False(t, ok)
}

// TestPreviousIncludeNeedsItsSize: the copy of the previous include is
// trusted only with its size line, and only at that size.
func TestPreviousIncludeNeedsItsSize(t *testing.T) {
	t.Parallel()
	head := "# bluegreen: color=blue deploy=a mode=maintenance\n# bluegreen-previous: eA==\n" // "x"
	got, err := PreviousInclude([]byte(head + "# bluegreen-previous-size: 1\n"))
	require.NoError(t, err)
	assert.Equal(t, "x", string(got))
	_, err = PreviousInclude([]byte(head))
	assert.ErrorIs(t, err, ErrNoPrevious, "no size line")
	_, err = PreviousInclude([]byte(head + "# bluegreen-previous-size: 2\n"))
	assert.ErrorIs(t, err, ErrNoPrevious, "another size")
}

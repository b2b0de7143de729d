package nginx

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// TestParseEvidenceLine: the status, the request time in milliseconds
// (seconds included) and the address that answered last.
func TestParseEvidenceLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line   string
		status int
		ms     int64
		addr   string
	}{
		{`bg1 1796665247.328 200 1.250 "127.0.0.1:8081" "200"`, 200, 1250, "127.0.0.1:8081"},
		{`bg1 1796665247.328 504 61.000 "127.0.0.1:8081" "504"`, 504, 61000, "127.0.0.1:8081"},
		{`bg1 1796665247.328 200 0.007 "127.0.0.1:8081, 127.0.0.1:8082" "502, 200"`, 200, 7, "127.0.0.1:8082"},
		{`bg1 1796665247.328 200 0.007 ", 127.0.0.1:8082" "200"`, 200, 7, "127.0.0.1:8082"},
		{`bg1 1796665247.328 200 0.007 " : 127.0.0.1:8082" "200"`, 200, 7, "127.0.0.1:8082"},
		{`bg1 1796665247.328 503 0.000 "-" "-"`, 503, 0, ""},
	} {
		status, ms, addr, ok := parseEvidenceLine(tt.line)
		assert.True(t, ok, tt.line)
		assert.Equal(t, tt.status, status, tt.line)
		assert.Equal(t, tt.ms, ms, tt.line)
		assert.Equal(t, tt.addr, addr, tt.line)
	}
}

// TestEvidenceCountsEvery5xxAsAnError: 500 is the first error status,
// 499 (a client that went away) is not one.
func TestEvidenceCountsEvery5xxAsAnError(t *testing.T) {
	t.Parallel()
	r := &EvidenceReader{Addrs: testAddrs}
	var ev Evidence
	for _, status := range []string{"499", "500", "599"} {
		r.add(&ev, []byte(`bg1 1796665247.328 `+status+` 0.001 "127.0.0.1:8082" "`+status+`"`))
	}
	assert.Equal(t, int64(3), ev.Green.Requests)
	assert.Equal(t, int64(2), ev.Green.Errors)
}

// TestEvidenceAddrsResolvesNames: a host name is resolved to the addresses
// nginx logs; the name itself is not a key.
func TestEvidenceAddrsResolvesNames(t *testing.T) {
	t.Parallel()
	got := EvidenceAddrs(context.Background(), TemplateData{Color: "blue", Host: "localhost", Port: 8081})
	if len(got) == 0 {
		t.Skip("localhost does not resolve here")
	}
	assert.NotContains(t, got, "localhost:8081")
	assert.Equal(t, color.Blue, got["127.0.0.1:8081"], "got %v", got)
}

// TestHistogramTop: values below 2^33 ms keep the 1.6 % precision; any
// larger one lands in the last bucket and is still counted.
func TestHistogramTop(t *testing.T) {
	t.Parallel()
	for _, ms := range []int64{1 << 32, 1<<32 + 12345, 1<<33 - 1} {
		up := histUpper(histIndex(ms))
		assert.GreaterOrEqual(t, up, ms, "%d", ms)
		assert.LessOrEqual(t, float64(up-ms), float64(ms)/64, "%d lands in a bucket up to %d", ms, up)
	}
	var h histogram
	h.add(1 << 40)
	h.add(-5)
	assert.Equal(t, histBuckets-1, histIndex(1<<40))
	assert.Equal(t, time.Duration(histUpper(histBuckets-1))*time.Millisecond, h.quantile(1000))
	assert.Equal(t, time.Duration(0), h.quantile(500), "a negative time counts as 0")
}

// TestEvidenceSinceTheEnd: a window that starts at the log's end reads
// nothing and is no restart; only a log shorter than the mark is one.
func TestEvidenceSinceTheEnd(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/evidence"
	require.NoError(t, os.WriteFile(path, []byte(line(200, "0.001", "127.0.0.1:8082")), 0o644))
	r := &EvidenceReader{Path: path, Addrs: testAddrs}
	mark, err := r.Mark()
	require.NoError(t, err)
	ev, next, err := r.Since(mark)
	require.NoError(t, err)
	assert.False(t, ev.Restarted)
	assert.Zero(t, ev.Green.Requests)
	assert.Equal(t, mark, next)
	ev, _, err = r.Since(mark + 1)
	require.NoError(t, err)
	assert.True(t, ev.Restarted)
	assert.Equal(t, int64(1), ev.Green.Requests)
}

package nginx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

var testAddrs = map[string]color.Color{"127.0.0.1:8081": color.Blue, "127.0.0.1:8082": color.Green, "[::1]:8082": color.Green}

func line(status int, secs string, addr string) string {
	return fmt.Sprintf("bg1 1796665247.328 %d %s \"%s\" \"%d\"\n", status, secs, addr, status)
}

// TestEvidenceReader counts per color from a mark; a line nginx is still
// writing waits for the next window; a rotated log is read from its start.
func TestEvidenceReader(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "evidence")
	r := &EvidenceReader{Path: path, Addrs: testAddrs}
	mark, err := r.Mark()
	require.NoError(t, err)
	assert.Zero(t, mark, "a log nginx has not created yet starts at 0")

	write := func(s string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		require.NoError(t, err)
		_, err = f.WriteString(s)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	write(line(200, "0.004", "127.0.0.1:8081") + "before the mark is not counted\n")
	mark, err = r.Mark()
	require.NoError(t, err)
	write(line(200, "0.010", "127.0.0.1:8081") +
		line(502, "0.001", "127.0.0.1:8082") +
		line(200, "0.020", "127.0.0.1:8081, 127.0.0.1:8082") + // retried: the last one answered
		line(200, "0.003", "127.0.0.1:8082 : [::1]:8082") +
		line(503, "0.000", "-") + // nginx answered itself
		"bg1 1796665247.500 200 0.100 \"127.0.0.1:8081\"") // still being written
	ev, next, err := r.Since(mark)
	require.NoError(t, err)
	assert.Equal(t, int64(1), ev.Blue.Requests)
	assert.Equal(t, int64(3), ev.Green.Requests)
	assert.Equal(t, int64(1), ev.Green.Errors)
	assert.Equal(t, int64(1), ev.Unattributed)
	assert.Zero(t, ev.Malformed)
	assert.Equal(t, 10*time.Millisecond, ev.Blue.P95())

	write(" \"200\"\n")
	ev, next, err = r.Since(next)
	require.NoError(t, err)
	assert.Equal(t, int64(1), ev.Blue.Requests, "the completed line is counted in the next window, once")
	assert.Equal(t, 100*time.Millisecond, ev.Blue.P95())

	require.NoError(t, os.WriteFile(path, []byte(line(200, "0.001", "127.0.0.1:8082")), 0o644))
	ev, _, err = r.Since(next)
	require.NoError(t, err)
	assert.True(t, ev.Restarted)
	assert.Equal(t, int64(1), ev.Green.Requests)
}

// TestEvidenceHostileContent: lines anyone could have written (a forged
// status, a workflow command, an endless line, binary) are counted as
// malformed, never as requests, and nothing of them reaches an error.
func TestEvidenceHostileContent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "evidence")
	hostile := strings.Join([]string{
		"::error::pwned",
		"bg1 1 999 0.001 \"127.0.0.1:8082\" \"999\"",
		"bg1 1 500 -1 \"127.0.0.1:8082\" \"500\"",
		"bg1 1 500 nan \"127.0.0.1:8082\" \"500\"",
		"bg1 1 500 0.001 \"127.0.0.1:8082\\\" \"500\"",
		"bg1 1 500 0.001 \"127.0.0.1:8082",
		"bg1 1 200 0.001 \"" + strings.Repeat("A", 5000) + "\" \"200\"",
		"\x00\x01\x1b[31m",
	}, "\n") + "\n" + line(200, "0.002", "127.0.0.1:8081")
	require.NoError(t, os.WriteFile(path, []byte(hostile), 0o644))
	r := &EvidenceReader{Path: path, Addrs: testAddrs}
	ev, next, err := r.Since(0)
	require.NoError(t, err)
	assert.Equal(t, int64(8), ev.Malformed)
	assert.Zero(t, ev.Green.Requests)
	assert.Equal(t, int64(1), ev.Blue.Requests, "the line after the long one is read")
	assert.Equal(t, int64(len(hostile)), next)
	v, err := Judge(ev, color.Blue, color.Green, Limits{})
	require.NoError(t, err)
	assert.True(t, v.Inconclusive)

	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(path, link))
	_, _, err = (&EvidenceReader{Path: link}).Since(0)
	assert.Error(t, err, "the reader must not follow a link planted at the log's path")
}

// TestHistogram: exact below 128 ms, within 1.6 % above, and the p95 is
// the nearest rank.
func TestHistogram(t *testing.T) {
	t.Parallel()
	for _, ms := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 12345, 1 << 31, 1 << 40} {
		i := histIndex(ms)
		up := histUpper(i)
		if ms < 1<<32 {
			assert.GreaterOrEqual(t, up, ms, "%d", ms)
			assert.LessOrEqual(t, float64(up-ms), float64(ms)/64+0.5, "%d lands in a bucket up to %d", ms, up)
		}
		if i > 0 {
			assert.Less(t, histUpper(i-1), max(ms, histUpper(i-1)+1))
		}
	}
	var h histogram
	for i := int64(1); i <= 20; i++ {
		h.add(i)
	}
	assert.Equal(t, 19*time.Millisecond, h.quantile(950), "rank ceil(0.95 × 20) = 19")
	h.add(1000)
	assert.Equal(t, 20*time.Millisecond, h.quantile(950))
}

// TestJudge: the error rate and the latency ratio fail the step, naming
// the evidence; few requests or a fast new color are not judged on latency.
func TestJudge(t *testing.T) {
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
		want      []string
	}{
		{"healthy", stats(900, 0, 20), stats(100, 1, 22), Limits{MaxErrorRate: 0.01, MaxLatencyRatio: 1.5}, nil},
		{"errors above the rate", stats(900, 0, 20), stats(100, 5, 22), Limits{MaxErrorRate: 0.01},
			[]string{"nginx answered 5 of green's 100 requests with 5xx (5.0 %), above the maximum error rate of 1.0 %"}},
		{"default rate", stats(900, 0, 20), stats(100, 2, 22), Limits{MaxErrorRate: -1}, []string{"above the maximum error rate of 1.0 %"}},
		{"slow", stats(900, 0, 20), stats(100, 0, 45), Limits{MaxLatencyRatio: 2}, []string{"green's p95 latency 45 ms is above 2 × blue's 20 ms"}},
		{"slow but under the floor", stats(900, 0, 2), stats(100, 0, 9), Limits{MaxLatencyRatio: 2}, nil},
		{"slow but few requests", stats(900, 0, 20), stats(5, 0, 100), Limits{MaxLatencyRatio: 2}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := Evidence{Blue: tt.blue, Green: tt.grn}
			v, err := Judge(ev, color.Blue, color.Green, tt.limits)
			if tt.want == nil {
				require.NoError(t, err)
				assert.Empty(t, v.Problems)
				return
			}
			var ce *CanaryError
			require.True(t, errors.As(err, &ce))
			require.ErrorIs(t, err, ErrCanaryFailed)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), fmt.Sprintf("evidence from nginx: blue %d requests, %d 5xx, p95", tt.blue.Requests, tt.blue.Errors))
		})
	}
}

// TestEvidenceAddrs: every address nginx may log for a color maps to it.
func TestEvidenceAddrs(t *testing.T) {
	t.Parallel()
	blue, green := goldenData()
	green.Servers = []Server{{Host: "127.0.0.1", Port: 8083}}
	got := EvidenceAddrs(context.Background(), blue, green)
	assert.Equal(t, color.Blue, got["127.0.0.1:8081"])
	assert.Equal(t, color.Blue, got["172.18.0.2:8080"])
	assert.Equal(t, color.Green, got["172.18.0.3:8080"])
	assert.Equal(t, color.Green, got["127.0.0.1:8083"])
}

const dumpWithHTTPGlob = `# configuration file /etc/nginx/nginx.conf:
http {
    access_log /var/log/nginx/access.log;
    include /etc/nginx/conf.d/*.conf;
    include /etc/nginx/sites-enabled/*;
}

# configuration file /etc/nginx/sites-enabled/default:
server {
    listen 80;
    include /etc/nginx/conf.d/service-url.inc;
    location / { proxy_pass $service_url; }
}

# configuration file /etc/nginx/conf.d/service-url.inc:
set $service_url http://127.0.0.1:8081;
`

// TestEvidenceFormatPath: the http-level file goes where a pattern nginx
// includes in http context matches; without one, a clear error.
func TestEvidenceFormatPath(t *testing.T) {
	t.Parallel()
	got, err := EvidenceFormatPath(dumpWithHTTPGlob)
	require.NoError(t, err)
	assert.Equal(t, "/etc/nginx/conf.d/bluegreen-evidence.conf", got)

	serverOnly := "# configuration file /etc/nginx/nginx.conf:\nhttp { server { include /etc/nginx/snippets/*.conf; } }\n"
	_, err = EvidenceFormatPath(serverOnly)
	require.ErrorIs(t, err, ErrNoHTTPInclude)
	assert.Contains(t, err.Error(), "include /etc/nginx/conf.d/*.conf;")
	assert.Contains(t, string(EvidenceFormatFile()), "log_format "+EvidenceFormatName+" 'bg1 $msec $status $request_time \"$upstream_addr\" \"$upstream_status\"';")
}

// TestCanaryKeep: a server without its own access_log or add_header would
// lose the inherited ones when the canary include adds its own, so they
// are repeated; a server with its own needs nothing.
func TestCanaryKeep(t *testing.T) {
	t.Parallel()
	inc := "/etc/nginx/conf.d/service-url.inc"
	hsts := strings.Replace(dumpWithHTTPGlob, "http {\n", "http {\n    add_header Strict-Transport-Security \"max-age=63072000\" always;\n", 1)
	assert.Equal(t, []string{`add_header Strict-Transport-Security "max-age=63072000" always;`, "access_log /var/log/nginx/access.log;"}, CanaryKeep(hsts, inc, true))
	assert.Equal(t, []string{`add_header Strict-Transport-Security "max-age=63072000" always;`}, CanaryKeep(hsts, inc, false))
	own := strings.Replace(hsts, "    listen 80;\n", "    listen 80;\n    access_log /var/log/nginx/app.log;\n    add_header X-Frame-Options DENY;\n", 1)
	assert.Empty(t, CanaryKeep(own, inc, true))
	off := strings.Replace(dumpWithHTTPGlob, "access_log /var/log/nginx/access.log;", "access_log off;", 1)
	assert.Empty(t, Inherited(off, inc, "access_log"))
}

//go:build e2e

package nginx

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// canarySetup is blue and green behind a real nginx whose http block
// includes http.d/*.conf, as Debian's includes conf.d/*.conf, so that the
// evidence's log format has a place.
type canarySetup struct {
	blue, green *colorServer
	nginx       *testenv.Nginx
	sw          *Switcher
	evidence    *EvidenceLog
	reader      *EvidenceReader
}

func startCanary(t *testing.T, server, httpExtra string, include func(blue TemplateData) []byte) *canarySetup {
	t.Helper()
	s := &canarySetup{blue: newColorServer(t, color.Blue, 0), green: newColorServer(t, color.Green, 0)}
	prefix := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(prefix, "http.d"), 0o755))
	s.nginx = startNginx(t, testenv.NginxOptions{
		Prefix:  prefix,
		Include: string(include(s.blue.data)),
		HTTP:    "    include " + filepath.Join(prefix, "http.d") + "/*.conf;\n" + httpExtra,
		Server:  server,
	})
	s.sw = &Switcher{IncludePath: s.nginx.IncludePath, TestCmd: s.nginx.TestCmd(), ReloadCmd: s.nginx.ReloadCmd(), Logf: t.Logf}
	path := filepath.Join(prefix, "logs", "bluegreen.evidence")
	s.evidence = &EvidenceLog{Path: path}
	s.reader = &EvidenceReader{Path: path, Addrs: EvidenceAddrs(context.Background(), s.blue.data, s.green.data)}
	return s
}

// count sends n requests without cookies, each on a new connection from
// 127.0.0.1, as a load generator does, and counts the answers by color.
func count(t *testing.T, url string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		got[get(t, url)]++
	}
	return got
}

// jarClient keeps cookies, as a browser does.
func jarClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func getWith(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestRealCanaryServerContext: the seed's include (set $service_url in a
// server block) as a canary. Without cookies the share is what was asked
// within a few points; a client that keeps cookies stays on one color, and
// one on the new color stays there as the share grows; nginx's evidence
// counts exactly what the clients saw; 0 % and 100 % send everything one way.
func TestRealCanaryServerContext(t *testing.T) {
	t.Parallel()
	tmpl := MustParseTemplate(DefaultTemplate)
	s := startCanary(t, testenv.SeedServer, "", func(d TemplateData) []byte { return mustRender(t, tmpl, d) })
	ctx := context.Background()
	dump, err := s.sw.run(ctx, []string{s.nginx.Bin, "-p", s.nginx.Prefix, "-c", s.nginx.Conf, "-T"})
	require.NoError(t, err)
	formatPath, err := EnsureEvidenceFormat(dump.Stdout, nil)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(s.nginx.Prefix, "http.d", "bluegreen-evidence.conf"), formatPath)
	assert.Equal(t, string(EvidenceFormatFile()), readFile(t, formatPath))

	step := func(percent int) {
		t.Helper()
		b, err := tmpl.RenderCanary(Canary{Old: s.blue.data, New: s.green.data, Percent: percent, Evidence: s.evidence})
		require.NoError(t, err)
		r, err := s.sw.Switch(ctx, b)
		require.NoError(t, err, "%s", b)
		want := Marker{Color: color.Blue, DeployID: "test-blue", Canary: color.Green, Percent: percent, Next: "test-green"}
		require.NoError(t, ConfirmMarker(ctx, FrontDoor{URL: s.nginx.URL("")}, want, 3, 10*time.Second))
		// Old workers accept a few connections after the reload; counting
		// starts once they are gone, so that every request meets this step.
		res, err := Drain(ctx, r, "", 10*time.Second)
		require.NoError(t, err)
		require.False(t, res.TimedOut, "old workers still running: %v", res.StillOpen)
	}

	step(10)
	mark, err := s.reader.Mark()
	require.NoError(t, err)
	const n = 1000
	got := count(t, s.nginx.URL("/"), n)
	assert.Equal(t, n, got["blue"]+got["green"], "answers other than blue and green: %v", got)
	assert.InDelta(t, 10, float64(got["green"])*100/n, 4, "share of green without cookies: %v", got)

	ev, next := readAll(t, s.reader, mark, n)
	assert.Equal(t, int64(got["blue"]), ev.Blue.Requests, "nginx's evidence must count what the clients saw")
	assert.Equal(t, int64(got["green"]), ev.Green.Requests)
	assert.Zero(t, ev.Blue.Errors+ev.Green.Errors+ev.Malformed)
	v, err := Judge(ev, color.Blue, color.Green, Limits{MaxErrorRate: DefaultMaxErrorRate, MaxLatencyRatio: 2})
	require.NoError(t, err, "a healthy green must pass")
	assert.Equal(t, ev.Green.Requests, v.New.Requests)

	// Browsers: each keeps its cookie and its color; some land on green.
	onGreen := map[int]*http.Client{}
	for i := 0; i < 80; i++ {
		c := jarClient(t)
		first := getWith(t, c, s.nginx.URL("/"))
		for j := 0; j < 10; j++ {
			require.Equal(t, first, getWith(t, c, s.nginx.URL("/")), "client %d flipped color", i)
		}
		if first == "green" {
			onGreen[i] = c
		}
	}
	require.NotEmpty(t, onGreen, "no cookie client landed on green in 80 tries at 10 %")

	step(50)
	for i, c := range onGreen {
		assert.Equal(t, "green", getWith(t, c, s.nginx.URL("/")), "client %d left green when the share grew", i)
	}
	got = count(t, s.nginx.URL("/"), 400)
	assert.InDelta(t, 50, float64(got["green"])*100/400, 10, "share of green at 50 %%: %v", got)

	step(0)
	assert.Equal(t, map[string]int{"blue": 50}, count(t, s.nginx.URL("/"), 50))
	step(100)
	assert.Equal(t, map[string]int{"green": 50}, count(t, s.nginx.URL("/"), 50))

	ev, _, err = s.reader.Since(next)
	require.NoError(t, err)
	assert.Positive(t, ev.Green.Requests)
}

// TestRealCanaryJudgesFailingNewColor: a green that answers every 20th
// request with 500 (5 %) fails the judgement on nginx's evidence, and the
// error names the evidence.
func TestRealCanaryJudgesFailingNewColor(t *testing.T) {
	t.Parallel()
	tmpl := MustParseTemplate(DefaultTemplate)
	s := startCanary(t, testenv.SeedServer, "", func(d TemplateData) []byte { return mustRender(t, tmpl, d) })
	ctx := context.Background()
	require.NoError(t, os.WriteFile(filepath.Join(s.nginx.Prefix, "http.d", "bluegreen-evidence.conf"), EvidenceFormatFile(), 0o644))
	failing := newFailingServer(t, color.Green, 20)
	b, err := tmpl.RenderCanary(Canary{Old: s.blue.data, New: failing, Percent: 50, Evidence: s.evidence})
	require.NoError(t, err)
	r, err := s.sw.Switch(ctx, b)
	require.NoError(t, err)
	_, err = Drain(ctx, r, "", 10*time.Second)
	require.NoError(t, err)
	s.reader.Addrs = EvidenceAddrs(ctx, s.blue.data, failing)

	mark, err := s.reader.Mark()
	require.NoError(t, err)
	for i := 0; i < 600; i++ {
		resp, err := frontDoor.Get(s.nginx.URL("/"))
		require.NoError(t, err)
		resp.Body.Close()
	}
	ev, _ := readAll(t, s.reader, mark, 600)
	require.Positive(t, ev.Green.Errors, "nginx logged no 5xx of green")
	assert.Zero(t, ev.Blue.Errors)
	_, err = Judge(ev, color.Blue, color.Green, Limits{MaxErrorRate: DefaultMaxErrorRate})
	require.ErrorIs(t, err, ErrCanaryFailed)
	assert.Contains(t, err.Error(), fmt.Sprintf("nginx answered %d of green's %d requests with 5xx", ev.Green.Errors, ev.Green.Requests))
	assert.Contains(t, err.Error(), fmt.Sprintf("blue %d requests, 0 5xx, p95", ev.Blue.Requests))
}

func mustRender(t *testing.T, tmpl *Template, d TemplateData) []byte {
	t.Helper()
	b, err := tmpl.Render(d)
	require.NoError(t, err)
	return b
}

// newFailingServer is a color that answers every nth request with 500.
func newFailingServer(t *testing.T, c color.Color, nth int) TemplateData {
	t.Helper()
	s := newColorServer(t, c, 0)
	var i int
	var mu = make(chan struct{}, 1)
	s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu <- struct{}{}
		i++
		fail := i%nth == 0
		<-mu
		if fail {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, c.String())
	})
	return s.data
}

// upstreamServer proxies to the upstream block app_backend with keepalive,
// as docs/nginx.md's upstream layout does.
const upstreamServer = `    location / {
        proxy_pass http://app_backend;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
`

// TestRealCanaryUpstreamLayout: an include in http context defining an
// upstream block (here with two replicas of green) as a canary. nginx's
// hash sends each key where peerKeys computed; the share without cookies,
// the stickiness with them and nginx's evidence (an http-level log limited
// to requests proxied to app_backend) hold as in server context.
func TestRealCanaryUpstreamLayout(t *testing.T) {
	t.Parallel()
	tmpl := MustParseTemplate(UpstreamTemplate("app_backend"))
	prefix := t.TempDir()
	inc := filepath.Join(prefix, "upstream.inc")
	blue, green, green2 := newColorServer(t, color.Blue, 0), newColorServer(t, color.Green, 0), newColorServer(t, color.Green, 0)
	require.NoError(t, os.WriteFile(inc, mustRender(t, tmpl, blue.data), 0o644))
	n := startNginx(t, testenv.NginxOptions{HTTP: "    include " + inc + ";\n", Server: upstreamServer})
	sw := &Switcher{IncludePath: inc, TestCmd: n.TestCmd(), ReloadCmd: n.ReloadCmd(), Logf: t.Logf}
	ctx := context.Background()
	newData := green.data
	newData.Servers = []Server{{Host: "127.0.0.1", Port: green.data.Port}, {Host: "127.0.0.1", Port: green2.data.Port}}
	ev := &EvidenceLog{Path: filepath.Join(prefix, "evidence")}
	reader := &EvidenceReader{Path: ev.Path, Addrs: EvidenceAddrs(ctx, blue.data, newData)}

	step := func(percent int) {
		t.Helper()
		b, err := tmpl.RenderCanary(Canary{Old: blue.data, New: newData, Percent: percent, Evidence: ev})
		require.NoError(t, err)
		r, err := sw.Switch(ctx, b)
		require.NoError(t, err, "%s", b)
		res, err := Drain(ctx, r, "", 10*time.Second)
		require.NoError(t, err)
		require.False(t, res.TimedOut)
	}
	step(20)
	mark, err := reader.Mark()
	require.NoError(t, err)
	got := count(t, n.URL("/"), 1000)
	assert.InDelta(t, 20, float64(got["green"])*100/1000, 4, "share of green without cookies: %v", got)
	e, _ := readAll(t, reader, mark, 1000)
	assert.Equal(t, int64(got["blue"]), e.Blue.Requests)
	assert.Equal(t, int64(got["green"]), e.Green.Requests)
	assert.Zero(t, e.Malformed+e.Unattributed)

	var onGreen []*http.Client
	for i := 0; i < 60; i++ {
		c := jarClient(t)
		first := getWith(t, c, n.URL("/"))
		for j := 0; j < 10; j++ {
			require.Equal(t, first, getWith(t, c, n.URL("/")), "client %d flipped color", i)
		}
		if first == "green" {
			onGreen = append(onGreen, c)
		}
	}
	require.NotEmpty(t, onGreen)
	step(60)
	for _, c := range onGreen {
		assert.Equal(t, "green", getWith(t, c, n.URL("/")), "a client left green when the share grew")
	}
	step(100)
	assert.Equal(t, map[string]int{"green": 40}, count(t, n.URL("/"), 40))
}

// readAll reads the evidence from mark until it holds n requests: nginx
// logs a request after the client has its answer, so the last lines may
// lag behind.
func readAll(t *testing.T, r *EvidenceReader, mark int64, n int64) (Evidence, int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev, next, err := r.Since(mark)
		require.NoError(t, err)
		// The marker requests of ConfirmMarker may land in the window too,
		// unattributed; only the colors' requests are compared.
		if got := ev.Blue.Requests + ev.Green.Requests; got >= n || time.Now().After(deadline) {
			require.Equal(t, n, got, "nginx logged %d requests of %d within 10s", got, n)
			return ev, next
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRealCanaryKeepsInheritedDirectives: the canary include's own
// add_header and access_log would switch off the ones the server inherits
// from http (nginx's rule, shown first); with CanaryKeep's lines the
// server keeps its headers and its access log during the canary.
func TestRealCanaryKeepsInheritedDirectives(t *testing.T) {
	t.Parallel()
	tmpl := MustParseTemplate(DefaultTemplate)
	s := startCanary(t, testenv.SeedServer, "    add_header X-Frame-Options DENY always;\n",
		func(d TemplateData) []byte { return mustRender(t, tmpl, d) })
	ctx := context.Background()
	require.NoError(t, os.WriteFile(filepath.Join(s.nginx.Prefix, "http.d", "bluegreen-evidence.conf"), EvidenceFormatFile(), 0o644))
	dump, err := s.sw.run(ctx, []string{s.nginx.Bin, "-p", s.nginx.Prefix, "-c", s.nginx.Conf, "-T"})
	require.NoError(t, err)
	accessLog := filepath.Join(s.nginx.Prefix, "logs", "access.log")

	for _, keep := range []bool{false, true} {
		c := Canary{Old: s.blue.data, New: s.green.data, Percent: 50, Evidence: s.evidence}
		if keep {
			c.Keep = CanaryKeep(dump.Stdout, s.nginx.IncludePath, true)
			require.Len(t, c.Keep, 2, "the http block's add_header and access_log: %v", c.Keep)
		}
		b, err := tmpl.RenderCanary(c)
		require.NoError(t, err)
		r, err := s.sw.Switch(ctx, b)
		require.NoError(t, err)
		_, err = Drain(ctx, r, "", 10*time.Second)
		require.NoError(t, err)
		before := fileSize(t, accessLog)
		resp, err := frontDoor.Get(s.nginx.URL("/"))
		require.NoError(t, err)
		resp.Body.Close()
		if !keep {
			assert.Empty(t, resp.Header.Get("X-Frame-Options"), "nginx's inheritance rule changed; Keep may be unneeded")
			continue
		}
		assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
		assert.Eventually(t, func() bool { return fileSize(t, accessLog) > before }, 5*time.Second, 20*time.Millisecond,
			"the server's own access log stopped during the canary")
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}

// startNginx is testenv.StartNginx that also waits for the master's two
// workers: nginx listens before it forks them, and a switch that took its
// "before" snapshot in between would count the first workers as new ones.
func startNginx(t *testing.T, opts testenv.NginxOptions) *testenv.Nginx {
	t.Helper()
	n := testenv.StartNginx(t, opts)
	require.Eventually(t, func() bool {
		masters, err := scanNginx(DefaultProcfs)
		require.NoError(t, err)
		for _, m := range masters {
			if m.PID == n.PID() {
				return len(m.Workers) == 2
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "nginx did not start its 2 workers")
	return n
}

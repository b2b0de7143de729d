//go:build e2e

package nginx

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/execx"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// These tests run a real private nginx (testenv.StartNginx) in front of two
// httptest servers standing in for the blue and green colors. Other
// packages' tests may run nginx masters at the same time, so nothing here
// assumes it sees the only master.

// colorServer is one color's app: "/" answers its name, "/slow" answers
// after slowFor or when release is closed.
type colorServer struct {
	*httptest.Server
	name     string
	hostport string
	data     TemplateData
	started  chan struct{} // receives when /slow begins
	release  chan struct{}
	slowFor  time.Duration
}

func newColorServer(t testing.TB, c color.Color, slowFor time.Duration) *colorServer {
	t.Helper()
	s := &colorServer{name: c.String(), started: make(chan struct{}, 8), release: make(chan struct{}), slowFor: slowFor}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			s.started <- struct{}{}
			select {
			case <-time.After(s.slowFor):
			case <-s.release:
			}
		}
		fmt.Fprint(w, s.name)
	}))
	t.Cleanup(s.Close)
	addr := s.Listener.Addr().(*net.TCPAddr)
	s.hostport = addr.String()
	s.data = TemplateData{Color: s.name, Host: "127.0.0.1", Port: addr.Port, DeployID: "test-" + s.name, Project: "app", Service: "web"}
	return s
}

// frontDoor opens a new connection per request, as a fresh client would.
var frontDoor = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 15 * time.Second}

func get(t testing.TB, url string) string {
	t.Helper()
	resp, err := frontDoor.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", url, body)
	return string(body)
}

type response struct {
	status int
	body   string
	err    error
}

// getAsync starts a GET and returns where its answer will arrive.
func getAsync(url string) <-chan response {
	ch := make(chan response, 1)
	go func() {
		resp, err := frontDoor.Get(url)
		if err != nil {
			ch <- response{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		ch <- response{status: resp.StatusCode, body: string(body), err: err}
	}()
	return ch
}

type realSetup struct {
	blue, green *colorServer
	nginx       *testenv.Nginx
	sw          *Switcher
	tmpl        *Template
	prev        []byte // the include nginx started with (blue)
}

// startReal starts blue, green and an nginx serving blue through the
// seed's server block.
func startReal(t testing.TB, blueSlow time.Duration) *realSetup {
	t.Helper()
	s := &realSetup{
		blue:  newColorServer(t, color.Blue, blueSlow),
		green: newColorServer(t, color.Green, 0),
		tmpl:  MustParseTemplate(DefaultTemplate),
	}
	var err error
	s.prev, err = s.tmpl.Render(s.blue.data)
	require.NoError(t, err)
	s.nginx = testenv.StartNginx(t, testenv.NginxOptions{Include: string(s.prev)})
	s.sw = &Switcher{
		IncludePath: s.nginx.IncludePath,
		TestCmd:     s.nginx.TestCmd(),
		ReloadCmd:   s.nginx.ReloadCmd(),
		Logf:        t.Logf,
	}
	require.Equal(t, "blue", get(t, s.nginx.URL("/")))
	// nginx listens before it has forked all its workers; a test comparing
	// workers before and after a switch must start from the full set.
	require.Eventually(t, func() bool { return len(s.workers(t)) == 2 }, 10*time.Second, 20*time.Millisecond,
		"nginx did not start its 2 workers")
	return s
}

func (s *realSetup) render(t *testing.T, tmpl *Template, d TemplateData) []byte {
	t.Helper()
	b, err := tmpl.Render(d)
	require.NoError(t, err)
	return b
}

func (s *realSetup) include(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(s.nginx.IncludePath)
	require.NoError(t, err)
	return b
}

// workers returns the live workers of this test's master.
func (s *realSetup) workers(t testing.TB) []Process {
	t.Helper()
	masters, err := scanNginx(DefaultProcfs)
	require.NoError(t, err)
	for _, m := range masters {
		if m.PID == s.nginx.PID() {
			return m.Workers
		}
	}
	t.Fatalf("master %d not found in %s", s.nginx.PID(), DefaultProcfs)
	return nil
}

// TestRealSwitchMovesTraffic: a switch is confirmed by the master's new
// workers, traffic moves to green, and Restore moves it back.
func TestRealSwitchMovesTraffic(t *testing.T) {
	t.Parallel()
	s := startReal(t, 0)
	ctx := context.Background()
	before := s.workers(t)

	r, err := s.sw.Switch(ctx, s.render(t, s.tmpl, s.green.data))
	require.NoError(t, err)
	require.True(t, r.Observed, "the reload was not observed in /proc")
	require.Len(t, r.Masters, 1)
	assert.Equal(t, s.nginx.PID(), r.Masters[0].PID, "another master was taken for ours")
	assert.ElementsMatch(t, before, r.OldWorkers)
	// The switch is confirmed by the first new worker; the master may still
	// be forking the second.
	assert.NotEmpty(t, r.NewWorkers)
	for _, w := range r.NewWorkers {
		assert.NotContains(t, before, w)
	}

	res, err := Drain(ctx, r, s.blue.hostport, 10*time.Second)
	require.NoError(t, err)
	assert.False(t, res.TimedOut, "still open: %v", res.StillOpen)
	// How soon it returns is the unit test's (TestDrainReturnsAtOnceWithNothingInFlight):
	// here the old workers' exit takes what a loaded machine gives it.
	assert.Zero(t, res.OldWorkers, "old workers still running")
	assert.Zero(t, res.OldConnections, "connections to blue still open")
	for i := 0; i < 5; i++ {
		assert.Equal(t, "green", get(t, s.nginx.URL("/")))
	}
	live, how, err := ParseLive(s.include(t), s.blue.data, s.green.data, s.tmpl)
	require.NoError(t, err)
	assert.Equal(t, color.Green, live)
	assert.Equal(t, "marker", how)

	require.NoError(t, s.sw.Restore(ctx, s.prev, true))
	assert.Equal(t, s.prev, s.include(t))
	assert.Eventually(t, func() bool { return get(t, s.nginx.URL("/")) == "blue" }, 5*time.Second, 50*time.Millisecond)
}

// TestRealSwitchUpstreamTemplate: an include in http context defining an
// upstream block with keepalive switches like the seed's variable.
func TestRealSwitchUpstreamTemplate(t *testing.T) {
	t.Parallel()
	blue, green := newColorServer(t, color.Blue, 0), newColorServer(t, color.Green, 0)
	tmpl := MustParseTemplate(UpstreamTemplate("app_backend"))
	prev, err := tmpl.Render(blue.data)
	require.NoError(t, err)
	dir := t.TempDir()
	inc := filepath.Join(dir, "upstream.inc")
	require.NoError(t, os.WriteFile(inc, prev, 0o644))
	n := testenv.StartNginx(t, testenv.NginxOptions{
		HTTP: "    include " + inc + ";\n",
		Server: `    location / {
        proxy_pass http://app_backend;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
`,
	})
	require.Equal(t, "blue", get(t, n.URL("/")))
	sw := &Switcher{IncludePath: inc, TestCmd: n.TestCmd(), ReloadCmd: n.ReloadCmd(), Logf: t.Logf}
	next, err := tmpl.Render(green.data)
	require.NoError(t, err)
	r, err := sw.Switch(context.Background(), next)
	require.NoError(t, err)
	require.True(t, r.Observed)
	res, err := Drain(context.Background(), r, blue.hostport, 10*time.Second)
	require.NoError(t, err)
	assert.False(t, res.TimedOut, "still open: %v", res.StillOpen)
	assert.Equal(t, "green", get(t, n.URL("/")))
}

// TestRealConfigTestFailureRestores: a template whose output nginx -t
// rejects leaves the old include byte for byte, nginx is never reloaded,
// and blue is still served.
func TestRealConfigTestFailureRestores(t *testing.T) {
	t.Parallel()
	s := startReal(t, 0)
	broken, err := ParseTemplate("set $service_url {{.URL}}\n") // no ';'
	require.NoError(t, err, "text/template accepts it; only nginx can tell")
	before := s.workers(t)

	r, err := s.sw.Switch(context.Background(), s.render(t, broken, s.green.data))
	require.Error(t, err)
	assert.Nil(t, r)
	assert.ErrorIs(t, err, ErrConfigTest)
	assert.NotErrorIs(t, err, ErrRestoreFailed)
	assert.Contains(t, err.Error(), "unexpected end of file", "nginx's own output is missing")
	assert.Contains(t, err.Error(), "the previous include was restored")
	assert.Equal(t, s.prev, s.include(t), "the previous include was not restored byte for byte")
	assert.Equal(t, []string{"service-url.inc"}, dirNames(t, filepath.Dir(s.nginx.IncludePath)), "a temp file was left behind")
	assert.ElementsMatch(t, before, s.workers(t), "nginx was reloaded although it never loaded the new include")
	assert.Equal(t, "blue", get(t, s.nginx.URL("/")))
}

// TestRealMasterRejectsConfigThatPassesTest: an include adding a listen on
// a port another process holds passes nginx -t (the test ignores
// EADDRINUSE, as the running nginx holds its own ports) and the reload
// command exits 0, but the master fails to bind, logs [emerg] and keeps
// its old workers. Switch must notice within ConfirmTimeout and restore,
// while a second nginx master reloading over and over on the same host
// must not be mistaken for ours.
func TestRealMasterRejectsConfigThatPassesTest(t *testing.T) {
	t.Parallel()
	s := startReal(t, 0)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer held.Close()
	bad, err := ParseTemplate("set $service_url {{.URL}};\nlisten " + held.Addr().String() + ";\n")
	require.NoError(t, err)

	other := testenv.StartNginx(t, testenv.NginxOptions{Server: "    location / { return 200 \"other\\n\"; }\n"})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				_, _ = execx.Run(context.Background(), other.ReloadCmd())
			}
		}
	}()
	defer func() { close(stop); <-done }()

	s.sw.ConfirmTimeout = 4 * time.Second // the master retries bind() for about 2.5 s
	before := s.workers(t)
	start := time.Now()
	r, err := s.sw.Switch(context.Background(), s.render(t, bad, s.green.data))
	took := time.Since(start)
	require.Error(t, err)
	assert.Nil(t, r)
	assert.NotErrorIs(t, err, ErrConfigTest, "nginx -t should have accepted this include")
	assert.ErrorIs(t, err, ErrReloadNotConfirmed)
	assert.NotErrorIs(t, err, ErrRestoreFailed)
	assert.GreaterOrEqual(t, took, s.sw.ConfirmTimeout)
	msg := err.Error()
	assert.Contains(t, msg, fmt.Sprintf("nginx master %d started no new workers", s.nginx.PID()))
	assert.Contains(t, msg, "bind() to "+held.Addr().String()+" failed (98: Address already in use)", "the master's [emerg] line is missing")
	assert.Contains(t, msg, "the previous include was restored and nginx reloaded with it")
	assert.Contains(t, s.nginx.ErrorLog(), "still could not bind()", "the master did not reject the config as expected")

	assert.Equal(t, s.prev, s.include(t))
	assert.Eventually(t, func() bool {
		after := s.workers(t)
		for _, w := range before {
			if containsProc(after, w) {
				return false
			}
		}
		return len(after) > 0
	}, 5*time.Second, 50*time.Millisecond, "the restore's reload did not replace the workers")
	assert.Eventually(t, func() bool { return get(t, s.nginx.URL("/")) == "blue" }, 5*time.Second, 50*time.Millisecond)
}

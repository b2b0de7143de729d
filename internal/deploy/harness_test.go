package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// The Actions reporter is what the CLI passes as a deploy's Reporter; the
// assertion sits here because report must not import deploy.
var _ deploy.Reporter = (*report.Reporter)(nil)

// app is one color's app: a real HTTP server on the color's port whose
// health answer a test sets.
type app struct {
	srv    *httptest.Server
	status atomic.Int32
	port   int
	// seen are the requests the app answered, as "host token" (token is
	// the X-Probe-Token header).
	mu   sync.Mutex
	seen []string
}

// requests returns what the app has seen.
func (a *app) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

func newApp(t *testing.T) *app {
	a := &app{}
	a.status.Store(http.StatusOK)
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.seen = append(a.seen, r.Host+" "+r.Header.Get("X-Probe-Token"))
		a.mu.Unlock()
		w.WriteHeader(int(a.status.Load()))
	}))
	t.Cleanup(a.srv.Close)
	a.port = a.srv.Listener.Addr().(*net.TCPAddr).Port
	return a
}

// harness is a deploy against fakes of Docker, nginx, the drain and the
// lock, with real compose files and real HTTP health checks.
type harness struct {
	t      *testing.T
	dir    string
	eng    *deploytest.Engine
	sw     *deploytest.Switch
	drain  *deploytest.Drain
	locker *deploytest.Locker
	apps   map[color.Color]*app
	inputs map[string]string
	log    bytes.Buffer
	// err is the last run's error.
	err error
	// hist is the project's history, in a temp dir.
	hist *ledger.Ledger
	// env is what compose files are interpolated with (VERSION picks the
	// app's image tag).
	env map[string]string
	// preview, when set, is the preview include's switch.
	preview *deploytest.Switch
	// nginxLock, when set, is the Target's host-wide nginx lock.
	nginxLock *deploytest.Locker
	// rec, when set, is the deploy's Reporter instead of the Actions
	// reporter writing to log.
	rec *deploytest.Reporter
	// frontDoorTimeout is the Deployer's FrontDoorTimeout (150 ms unless
	// set; a negative value leaves it unset).
	frontDoorTimeout time.Duration
	// evidence, when set, is nginx's evidence a canary reads.
	evidence *deploytest.Evidence
	// writePage, when set, is the Target's WritePage.
	writePage func([]byte) (string, error)
	// cleanup is the Deployer's CleanupTimeout (100 ms unless set; a
	// negative value leaves it unset).
	cleanup time.Duration
	// jobs is the Deployer's Jobs (a fleet's host).
	jobs deploy.Jobs
}

// harnessHealthcheck is the same project with a Docker healthcheck.
const harnessHealthcheck = `services:
  web:
    image: app:v1
    ports: ["${BLUEGREEN_PORT}:8080"]
    healthcheck:
      test: ["CMD", "/app", "-check"]
`

const harnessCompose = `services:
  web:
    image: app:${VERSION:-v1}
    ports: ["${BLUEGREEN_PORT}:8080"]
  worker:
    image: worker:1
`

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t:      t,
		dir:    t.TempDir(),
		eng:    deploytest.NewEngine(),
		sw:     deploytest.NewSwitch(nil),
		drain:  &deploytest.Drain{},
		locker: &deploytest.Locker{},
		apps:   map[color.Color]*app{color.Blue: newApp(t), color.Green: newApp(t)},
	}
	var err error
	h.hist, err = ledger.New(t.TempDir(), "app", 0)
	require.NoError(t, err)
	h.env = map[string]string{}
	require.NoError(t, os.WriteFile(filepath.Join(h.dir, "docker-compose.yml"), []byte(harnessCompose), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(h.dir, "healthcheck.yml"), []byte(harnessHealthcheck), 0o644))
	h.inputs = map[string]string{
		"project-name":       "app",
		"blue-port":          strconv.Itoa(h.apps[color.Blue].port),
		"green-port":         strconv.Itoa(h.apps[color.Green].port),
		"health-path":        "/health",
		"health-interval":    "10ms",
		"health-retries":     "3",
		"health-timeout":     "1s",
		"nginx-include-path": filepath.Join(h.dir, "service-url.inc"),
	}
	return h
}

// live makes c the color an earlier deploy left serving: its containers
// run and the include (the seed's form, without a marker) points at it.
func (h *harness) live(c color.Color) {
	h.eng.Run("app-"+c.String(), "web", "app:v0")
	h.eng.Run("app-"+c.String(), "worker", "worker:1")
	h.sw.SetInclude([]byte(fmt.Sprintf("set $service_url http://127.0.0.1:%d;\n", h.apps[c].port)))
}

// kept makes c a previous color keep-previous stopped but kept.
func (h *harness) kept(c color.Color) {
	h.eng.Run("app-"+c.String(), "web", "app:v0")
	h.eng.Exit("app-"+c.String(), 0)
}

// run deploys with the harness's inputs plus extra.
func (h *harness) run(ctx context.Context, extra map[string]string) (*deploy.Result, error) {
	h.t.Helper()
	env := map[string]string{}
	for k, v := range h.inputs {
		env["INPUT_"+k] = v
	}
	for k, v := range extra {
		env["INPUT_"+k] = v
	}
	// config reads INPUT_<NAME>, upper case with hyphens kept.
	getenv := func(k string) string {
		if name, ok := strings.CutPrefix(k, "INPUT_"); ok {
			return env["INPUT_"+strings.ToLower(name)]
		}
		return ""
	}
	cfg, err := config.Parse(getenv, h.dir)
	require.NoError(h.t, err)
	d := &deploy.Deployer{
		Config: cfg,
		Target: deploy.Target{Engine: h.eng, Nginx: h.sw, Drain: h.drain.Drain, Lock: h.locker, History: h.hist},
		Report: report.New(&h.log, func(string) string { return "" }),
		Env:    h.env,
	}
	if h.preview != nil {
		d.Preview = h.preview
	}
	if h.evidence != nil {
		d.Evidence = h.evidence
	}
	d.WritePage = h.writePage
	d.Jobs = h.jobs
	if h.nginxLock != nil {
		d.NginxLock = h.nginxLock
	}
	if h.rec != nil {
		d.Report = h.rec
	}
	d.CleanupTimeout = 100 * time.Millisecond
	if h.cleanup != 0 {
		d.CleanupTimeout = max(h.cleanup, 0)
	}
	d.FrontDoorTimeout = 150 * time.Millisecond
	if h.frontDoorTimeout != 0 {
		d.FrontDoorTimeout = max(h.frontDoorTimeout, 0)
	}
	deploy.SetPoll(d, 10*time.Millisecond)
	res, err := d.Run(ctx)
	h.err = err
	h.t.Log(h.log.String())
	if held, _ := h.locker.Held(); held {
		h.t.Error("the lock is still held after the deploy")
	}
	checkTransitions(h.t, res)
	return res, err
}

// frontDoor is nginx's front door as verify-url reaches it: it answers
// with the include the fake switch holds when showNew says so, else with
// what it held before.
//
// One that shows the new deploy gets FrontDoorTimeout's default (5 s), so
// that its three answers in a row fit on a loaded machine; one that never
// does keeps the harness's 150 ms, since the deploy waits it out.
func (h *harness) frontDoor(showNew bool) string {
	h.t.Helper()
	if showNew {
		h.frontDoorTimeout = -1
	}
	before, _ := h.sw.Include()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		cur, _ := h.sw.Include()
		if !showNew {
			cur = before
		}
		_, _ = w.Write(markerAnswer(cur))
	}))
	h.t.Cleanup(srv.Close)
	return srv.URL
}

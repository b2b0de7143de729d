//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/cli"
	"github.com/bluegreen-action/bluegreen/internal/fleet"
	"github.com/bluegreen-action/bluegreen/internal/loadgen"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// fleetCompose is the fleet's project. The app's version comes from the
// deploy's environment, the same on every host; what differs per host
// comes from a file on that host (/run/bluegreen-test/<version>.env, an
// absolute path, so it is the host's and does not travel), as a
// host-specific env file would in real life.
const fleetCompose = `services:
  web:
    image: ${APP_IMAGE}
    env_file:
      - /run/bluegreen-test/${VERSION}.env
    environment:
      VERSION: ${VERSION}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    ports:
      - "${BLUEGREEN_PORT}:8080"
`

// fleetEnv is three simulated hosts behind a front nginx, a workspace and
// the inputs that reach the hosts: the first and last over SSH, the
// middle one over TCP+TLS.
type fleetEnv struct {
	t       testing.TB
	fleet   *simFleet
	dir     string
	project string
	app     string
	front   *testenv.Nginx
	names   []string // the hosts as outputs name them
	inputs  map[string]string
	// bin is the static bluegreen binary: the helpers' image is made from
	// it, as from the running binary when the runner runs it.
	bin string
}

func newFleetEnv(t testing.TB) *fleetEnv {
	t.Helper()
	f := startFleet(t, 3)
	e := &fleetEnv{t: t, fleet: f, dir: t.TempDir(), project: testenv.UniqueName("bgfleet"), app: testenv.AppImage(t), bin: filepath.Join(t.TempDir(), "bluegreen")}
	require.NoError(t, testenv.GoBuild(testenv.RepoRoot(t), ".", e.bin))
	var wg sync.WaitGroup
	for _, h := range f.hosts {
		wg.Add(1)
		go func() { defer wg.Done(); h.loadImage(t, e.app) }()
	}
	wg.Wait()
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, "docker-compose.yml"), []byte(fleetCompose), 0o644))

	var hosts, known, upstream []string
	for i, h := range f.hosts {
		if i == 1 {
			hosts = append(hosts, "tcp://"+h.ip+":2376")
			e.names = append(e.names, h.ip+":2376")
		} else {
			hosts = append(hosts, "ssh://root@"+h.ip)
			e.names = append(e.names, "root@"+h.ip+":22")
			known = append(known, h.knownHosts)
		}
		upstream = append(upstream, "server "+h.ip+":80;")
	}
	e.front = testenv.StartNginx(t, testenv.NginxOptions{
		HTTP:   "upstream fleet {\n" + strings.Join(upstream, "\n") + "\n}\n",
		Server: "location / { proxy_pass http://fleet; }\n",
	})
	e.inputs = map[string]string{
		"hosts":           strings.Join(hosts, "\n"),
		"ssh-private-key": f.sshKeyPEM,
		"ssh-known-hosts": strings.Join(known, "\n"),
		"docker-tls-ca":   string(f.pki.caPEM),
		"docker-tls-cert": string(f.pki.clientCert),
		"docker-tls-key":  string(f.pki.clientKey),
		"project-name":    e.project,
		"health-path":     "/health",
		"health-interval": "100ms",
		"health-retries":  "50",
		"drain-timeout":   "10s",
	}
	return e
}

// version makes an image tag for v on every host (the same app; a deploy
// of a new tag is what `image:` does in real life) and the hosts' env
// files for v: perHost[i] on host i, empty elsewhere.
func (e *fleetEnv) version(v string, perHost map[int]string) string {
	e.t.Helper()
	tag := "bgfleet-app:" + v
	for i, h := range e.fleet.hosts {
		require.NoError(e.t, h.docker.ImageTag(context.Background(), e.app, tag))
		h.write(e.t, "/run/bluegreen-test/"+v+".env", perHost[i])
	}
	return tag
}

// fleetRun is one run of the action on the fleet.
type fleetRun struct {
	code    int
	out     string
	outputs map[string]string
	summary string
	outcome *fleet.Outcome
	took    time.Duration
}

// syncBuffer is a log several goroutines write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// deploy runs the action in this process, as the runner would run the
// binary outside a container: the helpers' image is made from the built
// static binary.
func (e *fleetEnv) deploy(ctx context.Context, tb testing.TB, version, image string, extra map[string]string, log *syncBuffer) fleetRun {
	tb.Helper()
	outFile := filepath.Join(tb.TempDir(), "output")
	summaryFile := filepath.Join(tb.TempDir(), "summary")
	require.NoError(tb, os.WriteFile(outFile, nil, 0o644))
	require.NoError(tb, os.WriteFile(summaryFile, nil, 0o644))
	inputs := map[string]string{"image": image}
	for k, v := range extra {
		inputs[k] = v
	}
	environ := append(stageEnviron(e.inputs, inputs),
		"GITHUB_ACTIONS=true", "GITHUB_OUTPUT="+outFile, "GITHUB_STEP_SUMMARY="+summaryFile,
		"GITHUB_WORKSPACE="+e.dir, "GITHUB_REPOSITORY=acme/fleet", "GITHUB_RUN_ID=77", "GITHUB_SHA=0123abc",
		"ACTIONS_RUNTIME_TOKEN=tok-runtime-fleet", "APP_IMAGE="+e.app, "VERSION="+version)
	if log == nil {
		log = &syncBuffer{}
	}
	var w io.Writer = log
	if t, ok := tb.(*testing.T); ok {
		w = io.MultiWriter(log, testWriter{t})
	}
	var outcome *fleet.Outcome
	start := time.Now()
	code := cli.Main(ctx, cli.Options{Environ: environ, Cwd: e.dir, Stdout: w, HelperBinary: e.bin, OnFleet: func(o *fleet.Outcome) { outcome = o }})
	took := time.Since(start)
	summary, _ := os.ReadFile(summaryFile)
	var outputs map[string]string
	if t, ok := tb.(*testing.T); ok {
		outputs = readOutputs(t, outFile)
	}
	return fleetRun{code: code, out: log.String(), outputs: outputs, summary: string(summary), outcome: outcome, took: took}
}

// stageEnviron is the action's environment for inputs (later maps win).
func stageEnviron(maps ...map[string]string) []string {
	all := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			all[k] = v
		}
	}
	environ := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range all {
		environ = append(environ, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	return environ
}

// requireServes checks every host's own nginx answers / with version.
func (e *fleetEnv) requireServes(version string) {
	e.t.Helper()
	for i, h := range e.fleet.hosts {
		code, body, err := h.get("/")
		require.NoError(e.t, err, "host %d", i+1)
		require.Equal(e.t, 200, code, "host %d: %s", i+1, body)
		require.True(e.t, strings.HasPrefix(body, "version="+version+" "), "host %d serves %q, not %s", i+1, body, version)
	}
}

// requireNoHelpers checks no helper container is left on any host.
func (e *fleetEnv) requireNoHelpers() {
	e.t.Helper()
	for i, h := range e.fleet.hosts {
		require.Eventually(e.t, func() bool {
			list, err := h.docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", fleet.LabelProject+"="+e.project))})
			return err == nil && len(list) == 0
		}, 20*time.Second, 200*time.Millisecond, "host %d has helper containers left", i+1)
	}
}

// watchFirst notes when a line with marker first appears in log; the
// returned function says when (zero if never).
func watchFirst(log *syncBuffer, marker string) func() time.Time {
	var mu sync.Mutex
	var at time.Time
	stop := make(chan struct{})
	go func() {
		for {
			if strings.Contains(log.String(), marker) {
				mu.Lock()
				at = time.Now()
				mu.Unlock()
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() time.Time {
		close(stop)
		mu.Lock()
		defer mu.Unlock()
		return at
	}
}

// watchHelpers inspects the fleet's helper containers on every host until
// the returned function is called, which returns what it saw.
func (e *fleetEnv) watchHelpers() func() []container.InspectResponse {
	var daemons []*client.Client
	for _, h := range e.fleet.hosts {
		daemons = append(daemons, h.docker)
	}
	return watchContainers(daemons, fleet.LabelProject+"="+e.project)
}

func hostsResult(t *testing.T, r fleetRun) []fleet.HostReport {
	t.Helper()
	var out []fleet.HostReport
	require.NoError(t, json.Unmarshal([]byte(r.outputs["hosts-result"]), &out), r.outputs["hosts-result"])
	return out
}

func results(reports []fleet.HostReport) []fleet.Status {
	var out []fleet.Status
	for _, r := range reports {
		out = append(out, r.Result)
	}
	return out
}

// TestFleet rolls deploys across three simulated hosts, each with its own
// dockerd, nginx and sshd, reached over SSH and TCP+TLS, behind a front
// nginx that balances over them:
//   - a first rollout, three hosts at once;
//   - a rolling deploy one host at a time under load through the front
//     nginx: no failed GET and no failed slow request;
//   - a version that fails its health check on host 3: hosts 1 and 2 go
//     back, all three serve the previous version, the step fails naming
//     host 3 and the health check;
//   - running the same deploy again skips every host already on it;
//   - two rollouts at once: the second waits for the first's fleet locks
//     and deploys no host before the first is done;
//   - a host that cannot be reached fails the fleet before any host is
//     touched (exit 1), one missing from ssh-known-hosts before any dial
//     (exit 2);
//   - a cancellation while host 2 deploys: host 1 goes back, host 3 is
//     not touched.
func TestFleet(t *testing.T) {
	e := newFleetEnv(t)
	ctx := context.Background()
	live := "v2" // what every host serves between subtests, once v2 is out

	t.Run("first rollout, three hosts at once", func(t *testing.T) {
		img := e.version("v1", nil)
		r := e.deploy(ctx, t, "v1", img, map[string]string{"max-parallel": "3"}, nil)
		require.Equal(t, 0, r.code, r.out)
		e.requireServes("v1")
		require.Equal(t, "blue", r.outputs["active-color"], "all hosts agree")
		require.Equal(t, img, r.outputs["image"])
		require.Equal(t, []fleet.Status{fleet.StatusDeployed, fleet.StatusDeployed, fleet.StatusDeployed}, results(hostsResult(t, r)))
		for i, hr := range hostsResult(t, r) {
			require.Equal(t, e.names[i], hr.Host)
			require.Positive(t, hr.Phases["health"], "per-phase times come back")
		}
		require.Contains(t, r.summary, "| Host | Before | After |")
		e.requireNoHelpers()
	})

	t.Run("rolling deploy under load", func(t *testing.T) {
		img := e.version("v2", nil)
		seen := e.watchHelpers()
		gen := loadgen.Start(ctx, loadgen.Config{BaseURL: e.front.URL(""), MaxRequests: 100_000})
		time.Sleep(300 * time.Millisecond)
		r := e.deploy(ctx, t, "v2", img, nil, nil)
		time.Sleep(300 * time.Millisecond)
		records := gen.Stop()
		require.Equal(t, 0, r.code, r.out)
		helpers := seen()
		require.NotEmpty(t, helpers, "the hosts' helpers were inspected while they ran")
		secrets := append(strings.Split(strings.TrimSpace(e.inputs["ssh-private-key"]), "\n")[1:3], "tok-runtime-fleet", strings.Split(string(e.fleet.pki.clientKey), "\n")[1])
		for _, h := range helpers {
			var names []string
			for _, kv := range h.Config.Env {
				k, _, _ := strings.Cut(kv, "=")
				names = append(names, k)
			}
			require.ElementsMatch(t, []string{"PATH", "BLUEGREEN_HOIST_ROLE", "BLUEGREEN_HOIST_ROOT", "BLUEGREEN_HOIST_CWD"}, names, "a host's helper has only its settings in its Env")
			all := strings.Join(h.Config.Env, "\n") + strings.Join(h.Config.Cmd, " ") + strings.Join(h.Config.Entrypoint, " ")
			for _, sec := range secrets {
				require.NotContains(t, all, sec)
			}
		}
		sum := loadgen.Summary(records)
		t.Logf("rolling deploy of 3 hosts in %s under load:\n%s", r.took.Round(time.Millisecond), loadgen.Format(sum))
		for _, k := range []loadgen.Kind{loadgen.KeepAliveGET, loadgen.NewConnGET, loadgen.Slow} {
			require.Zero(t, sum[k].Non2xx+sum[k].Transport, "%s requests failed", k)
			require.Positive(t, sum[k].OK, "%s sent nothing", k)
		}
		e.requireServes("v2")
		require.Equal(t, "green", r.outputs["active-color"])
		require.Equal(t, "blue", r.outputs["previous-color"])
		// The hosts went one after the other.
		var order []string
		for _, line := range strings.Split(r.out, "\n") {
			for _, n := range e.names {
				if strings.Contains(line, "::group::Deploy to "+n) {
					order = append(order, n)
				}
			}
		}
		require.Equal(t, e.names, order)
		// The runner reads ::add-mask:: lines and shows none of them.
		var shown []string
		for _, line := range strings.Split(r.out, "\n") {
			if !strings.HasPrefix(line, "::add-mask::") {
				shown = append(shown, line)
			}
		}
		key := strings.Split(strings.TrimSpace(e.inputs["ssh-private-key"]), "\n")
		require.NotContains(t, strings.Join(shown, "\n"), key[1], "the SSH key never shows")
		require.NotContains(t, r.out, "tok-runtime-fleet")
		e.requireNoHelpers()
	})

	t.Run("a version that fails on host 3 leaves every host on the previous one", func(t *testing.T) {
		img := e.version("v3", map[int]string{2: "HEALTH_STATUS=500\n"})
		r := e.deploy(ctx, t, "v3", img, map[string]string{"health-retries": "10"}, nil)
		require.Equal(t, 1, r.code, r.out)
		e.requireServes("v2")
		require.Equal(t, []fleet.Status{fleet.StatusRolledBack, fleet.StatusRolledBack, fleet.StatusFailed}, results(hostsResult(t, r)))
		// The annotation's title, as the runner's encoding writes it.
		require.Contains(t, r.out, "::error title=Deploy failed on "+strings.ReplaceAll(e.names[2], ":", "%3A")+"%3A Health check")
		require.Contains(t, r.out, "Returned to their previous color")
		require.Equal(t, "green", r.outputs["active-color"], "every host serves green again")
		e.requireNoHelpers()
	})

	t.Run("running it again skips the hosts already on the image", func(t *testing.T) {
		img := e.version("v2", nil)
		r := e.deploy(ctx, t, "v2", img, nil, nil)
		require.Equal(t, 0, r.code, r.out)
		require.Equal(t, []fleet.Status{fleet.StatusSkipped, fleet.StatusSkipped, fleet.StatusSkipped}, results(hostsResult(t, r)))
		e.requireServes("v2")
	})

	t.Run("two rollouts at once never interleave hosts", func(t *testing.T) {
		imgA := e.version("v5", map[int]string{0: "READY_AFTER=1500ms\n"})
		imgB := e.version("v6", nil)
		var wg sync.WaitGroup
		var a fleetRun
		var aDone time.Time
		wg.Add(1)
		go func() {
			defer wg.Done()
			a = e.deploy(ctx, t, "v5", imgA, nil, nil)
			aDone = time.Now()
		}()
		// B starts once A holds its locks.
		require.Eventually(t, func() bool {
			for _, h := range e.fleet.hosts {
				list, err := h.docker.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", fleet.LabelHelper+"=lock"), filters.Arg("label", fleet.LabelProject+"="+e.project))})
				if err != nil || len(list) == 0 {
					return false
				}
			}
			return true
		}, time.Minute, 50*time.Millisecond)
		bLog := &syncBuffer{}
		firstDeploy := watchFirst(bLog, "::group::Deploy to ")
		b := e.deploy(ctx, t, "v6", imgB, nil, bLog)
		wg.Wait()
		require.Equal(t, 0, a.code, a.out)
		require.Equal(t, 0, b.code, b.out)
		require.Contains(t, b.out, "fleet lock busy")
		require.Contains(t, b.out, "holds this host's fleet lock (")
		require.NotContains(t, b.out, "waiting up to 0s", "a try without waiting says nothing of its own")
		started := firstDeploy()
		require.False(t, started.IsZero())
		// A gives its locks back just before it returns.
		require.True(t, started.After(aDone.Add(-100*time.Millisecond)), "B deployed its first host at %s, before A ended at %s", started.Format(time.StampMilli), aDone.Format(time.StampMilli))
		e.requireServes("v6")
		e.requireNoHelpers()
		live = "v6"
	})

	t.Run("a host that cannot be reached touches nothing", func(t *testing.T) {
		img := e.version("v7", nil)
		ip := e.fleet.hosts[0].ip
		// Port 2222 of host 1: known, but nothing listens there.
		key := strings.SplitN(e.fleet.hosts[0].knownHosts, " ", 2)[1]
		extra := map[string]string{
			"hosts":           e.inputs["hosts"] + "\nssh://root@" + ip + ":2222",
			"ssh-known-hosts": e.inputs["ssh-known-hosts"] + "\n[" + ip + "]:2222 " + key,
		}
		r := e.deploy(ctx, t, "v7", img, extra, nil)
		require.Equal(t, 1, r.code, r.out)
		require.Contains(t, r.out, "::error title=Fleet preflight failed::")
		require.Contains(t, r.out, "nothing was changed on any host")
		e.requireServes(live)

		// Not in ssh-known-hosts at all: an input problem, before any dial.
		extra["ssh-known-hosts"] = e.inputs["ssh-known-hosts"]
		r = e.deploy(ctx, t, "v7", img, extra, nil)
		require.Equal(t, 2, r.code, r.out)
		require.Contains(t, r.out, "ssh-known-hosts has no key for ["+ip+"]:2222")
		e.requireServes(live)
		e.requireNoHelpers()
	})

	t.Run("cancel in the middle", func(t *testing.T) {
		img := e.version("v4", map[int]string{1: "READY_AFTER=10m\n"})
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		log := &syncBuffer{}
		go func() {
			deadline := time.Now().Add(3 * time.Minute)
			for time.Now().Before(deadline) {
				for _, line := range strings.Split(log.String(), "\n") {
					if strings.HasPrefix(line, e.names[1]+" | ") && strings.Contains(line, "probe") {
						cancel()
						return
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		r := e.deploy(ctx, t, "v4", img, map[string]string{"health-retries": "6000"}, log)
		require.Equal(t, 1, r.code, r.out)
		e.requireServes(live)
		require.Equal(t, []fleet.Status{fleet.StatusRolledBack, fleet.StatusStopped, fleet.StatusNotStarted}, results(hostsResult(t, r)))
		require.Contains(t, r.out, "::error title=Fleet rollout cancelled")
		e.requireNoHelpers()
	})
}

// BenchmarkFleet prints the time of a fleet deploy of 1, 2 and 3 hosts,
// one at a time and all at once, beside a single-host deploy (the binary
// run on host 1 itself, in its namespaces) in the same run. One at a time
// should grow linearly with the hosts; all at once should stay near one
// host's time.
//
//	go test -tags e2e ./e2e -run '^$' -bench Fleet -benchtime 2x
func BenchmarkFleet(b *testing.B) {
	e := newFleetEnv(b)
	ctx := context.Background()
	// A first deploy everywhere, so that every measured run switches.
	r := e.deploy(ctx, b, "b0", e.version("b0", nil), map[string]string{"max-parallel": "3"}, nil)
	require.Equal(b, 0, r.code, r.out)

	type shape struct {
		name     string
		hosts    int
		parallel int
	}
	shapes := []shape{{"fleet-1host", 1, 1}, {"fleet-2hosts-serial", 2, 1}, {"fleet-3hosts-serial", 3, 1}, {"fleet-2hosts-parallel", 2, 3}, {"fleet-3hosts-parallel", 3, 3}}
	totals := map[string]time.Duration{}
	stages := map[string]string{}
	seq := 0
	next := func() (string, string) {
		seq++
		v := fmt.Sprintf("b%d", seq)
		return v, e.version(v, nil)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, img := next()
		totals["single-host"] += e.singleHost(b, v, img)
		for _, s := range shapes {
			v, img := next()
			extra := e.fleetHosts(s.hosts)
			extra["max-parallel"] = fmt.Sprint(s.parallel)
			r := e.deploy(ctx, b, v, img, extra, nil)
			require.Equal(b, 0, r.code, r.out)
			totals[s.name] += r.took
			stages[s.name] = stageTimes(r.out)
		}
	}
	b.StopTimer()
	one := totals["single-host"]
	lines := []string{fmt.Sprintf("single-host deploy (binary on host 1): %s", (one / time.Duration(b.N)).Round(time.Millisecond))}
	b.ReportMetric(float64(one.Milliseconds())/float64(b.N), "single-host-ms")
	for _, s := range shapes {
		d := totals[s.name]
		b.ReportMetric(float64(d.Milliseconds())/float64(b.N), s.name+"-ms")
		lines = append(lines, fmt.Sprintf("%-22s %s (%.2fx the single-host deploy, %.2fx the one-host fleet)\n    last run: %s", s.name+":", (d/time.Duration(b.N)).Round(time.Millisecond),
			float64(d)/float64(one), float64(d)/float64(totals["fleet-1host"]), stages[s.name]))
	}
	// Printed, not logged: a benchmark's log is cut after a few lines.
	fmt.Println(strings.Join(lines, "\n"))
}

// stageTimes picks a rollout's stage times out of its log.
func stageTimes(out string) string {
	var parts []string
	for _, line := range strings.Split(out, "\n") {
		if name, took, ok := strings.Cut(strings.TrimSpace(line), " took "); ok && !strings.Contains(name, " | ") {
			parts = append(parts, name+" "+took)
		}
	}
	return strings.Join(parts, ", ")
}

// singleHost deploys v on host 1 the way a single-host workflow does: the
// binary run on the host itself (here: in its namespaces), no fleet.
func (e *fleetEnv) singleHost(tb testing.TB, v, img string) time.Duration {
	tb.Helper()
	h := e.fleet.hosts[0]
	inputs := map[string]string{}
	for k, val := range e.inputs {
		if !strings.HasPrefix(k, "ssh-") && !strings.HasPrefix(k, "docker-tls-") && k != "hosts" {
			inputs[k] = val
		}
	}
	inputs["image"] = img
	inputs["keep-previous"] = "true"
	// -w: the init's working directory, /. nsenter's --wd=DIR would open
	// DIR in this mount namespace, where the binary's getwd cannot reach
	// it; the workspace comes from GITHUB_WORKSPACE. (No shell in
	// between: dash drops variables with a hyphen, as INPUT_* have.)
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(h.initPID(tb)), "-m", "-n", "-p", "-w", e.bin)
	cmd.Env = append(stageEnviron(inputs), "APP_IMAGE="+e.app, "VERSION="+v, "GITHUB_WORKSPACE="+e.dir)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	require.NoError(tb, err, string(out))
	return took
}

// fleetHosts narrows the inputs to the first n hosts.
func (e *fleetEnv) fleetHosts(n int) map[string]string {
	lines := strings.Split(e.inputs["hosts"], "\n")
	return map[string]string{"hosts": strings.Join(lines[:n], "\n")}
}

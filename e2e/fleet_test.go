//go:build e2e

package e2e

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/cli"
	"github.com/bluegreen-action/bluegreen/internal/fleet"
	"github.com/bluegreen-action/bluegreen/internal/loadgen"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// fleetCompose is the fleet's project. The app's version comes from the
// deploy's environment, the same on every host; what differs per host
// (a slow start, a failing health check) is baked into that host's image
// of the version (see version): the deploy refuses an env_file outside
// the working directory, so a host-specific file cannot be the way.
const fleetCompose = `services:
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    ports:
      - "${BLUEGREEN_PORT}:8080"
`

// fleetEnv is n simulated hosts (three in most tests) behind a front
// nginx, a workspace and the inputs that reach the hosts: the second over
// TCP+TLS, the others over SSH.
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

func newFleetEnv(t testing.TB, n int) *fleetEnv {
	t.Helper()
	f := startFleet(t, n)
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
// of a new tag is what `image:` does in real life). perHost[i] holds
// KEY=VALUE lines that host i's image of v sets in its environment (a
// slow start, a failing health check); the other hosts get the app as is.
func (e *fleetEnv) version(v string, perHost map[int]string) string {
	e.t.Helper()
	ctx := context.Background()
	tag := "bgfleet-app:" + v
	for i, h := range e.fleet.hosts {
		var changes []string
		for _, kv := range strings.Fields(perHost[i]) {
			changes = append(changes, "ENV "+kv)
		}
		if len(changes) == 0 {
			require.NoError(e.t, h.docker.ImageTag(ctx, e.app, tag))
			continue
		}
		// A container is created (never started) only to commit the
		// image with its environment changed.
		c, err := h.docker.ContainerCreate(ctx, &container.Config{Image: e.app}, nil, nil, nil, "")
		require.NoError(e.t, err)
		_, err = h.docker.ContainerCommit(ctx, c.ID, container.CommitOptions{Reference: tag, Changes: changes})
		require.NoError(e.t, err)
		require.NoError(e.t, h.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{}))
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
	e := newFleetEnv(t, 3)
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

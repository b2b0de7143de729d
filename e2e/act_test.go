//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// actVersion is the nektos/act release scripts/setup.sh builds.
const actVersion = "0.2.89"

// requireAct returns the act binary scripts/setup.sh installs into
// $(go env GOPATH)/bin, or skips (fails under CI).
func requireAct(t *testing.T) string {
	t.Helper()
	var candidates []string
	if p, err := exec.LookPath("act"); err == nil {
		candidates = append(candidates, p)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		candidates = append(candidates, filepath.Join(strings.TrimSpace(string(out)), "bin", "act"))
	}
	for _, p := range candidates {
		if out, err := exec.Command(p, "--version").Output(); err == nil && strings.Contains(string(out), actVersion) {
			return p
		}
	}
	err := fmt.Errorf("no act %s in PATH or $(go env GOPATH)/bin; run scripts/setup.sh", actVersion)
	if testenv.InCI() {
		t.Fatalf("act is required in CI (CI=true) but unavailable: %v", err)
	}
	t.Skipf("skipping: %v", err)
	return ""
}

// bashWrapper stands in for bash in the busybox job image: act runs `run:`
// steps with `bash --noprofile --norc -e -o pipefail <script>`, and
// busybox's sh understands all of that but the two long options.
const bashWrapper = `#!/bin/sh
# bash stand-in: busybox has no bash applet.
while [ $# -gt 0 ]; do
  case "$1" in
    --noprofile|--norc) shift ;;
    *) break ;;
  esac
done
exec /bin/sh "$@"
`

// actJobImage imports a job image for `runs-on: self-hosted`: Debian's
// static busybox, its applets, and a bash wrapper. No registry is
// reachable, so act's usual runner images cannot be pulled.
func actJobImage(t *testing.T) string {
	t.Helper()
	docker := testenv.RequireDocker(t)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("/bin/busybox (busybox-static) is required in CI: %v", err)
		}
		t.Skipf("skipping: no /bin/busybox (apt-get install busybox-static): %v", err)
	}
	out, err := exec.Command("/bin/busybox", "--list").Output()
	require.NoError(t, err)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}))
	}
	file := func(name string, mode int64, data []byte) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}))
		_, err := tw.Write(data)
		require.NoError(t, err)
	}
	for _, d := range []string{"bin/", "etc/", "root/", "var/", "var/run/", "usr/", "usr/bin/"} {
		dir(d, 0o755)
	}
	dir("tmp/", 0o1777)
	file("bin/busybox", 0o755, bb)
	file("bin/bash", 0o755, []byte(bashWrapper))
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || applet == "bash" {
			continue
		}
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "/bin/busybox", Mode: 0o777}))
	}
	require.NoError(t, tw.Close())

	tag := testenv.UniqueName("bluegreen-act-job") + ":latest"
	rc, err := docker.ImageImport(context.Background(), image.ImportSource{Source: &buf, SourceName: "-"}, tag, image.ImportOptions{
		Changes: []string{"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	})
	require.NoError(t, err)
	_, _ = bytes.NewBuffer(nil).ReadFrom(rc)
	rc.Close()
	t.Cleanup(func() {
		_, _ = docker.ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true, PruneChildren: true})
	})
	return tag
}

// actRun is one `act` run of a workflow in the fixture's workspace.
type actRun struct {
	*proc
}

// workflow is the test's workflow: the seed's self-hosted deploy job with
// this action as the deploy step and a later step using its outputs.
func (f *fixture) actWorkflow(name, actionImage, version string, extra map[string]string) string {
	inputs := map[string]string{}
	for k, v := range f.inputs {
		inputs[k] = v
	}
	for k, v := range extra {
		inputs[k] = v
	}
	keys := make([]string, 0, len(inputs))
	for k := range inputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var with strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&with, "          %s: %q\n", k, inputs[k])
	}
	return fmt.Sprintf(`name: %s
on: push
jobs:
  deploy:
    runs-on: self-hosted
    steps:
      - id: deploy
        uses: docker://%s
        env:
          APP_IMAGE: %s
          VERSION: %s
        with:
%s      - name: use the outputs
        run: |
          echo "deployed active-color=${{ steps.deploy.outputs.active-color }} previous-color=${{ steps.deploy.outputs.previous-color }} port=${{ steps.deploy.outputs.active-port }}"
`, name, actionImage, f.image, version, with.String())
}

// startAct runs act on the fixture's workspace with the job mapped to the
// busybox job image. --bind shares the workspace with the host (the
// helper needs its host path), --rm removes the job container when the
// run ends or is cancelled (the launcher takes that as the cancel), and
// --pull=false keeps act from reaching for a registry.
func startAct(t *testing.T, f *fixture, act, jobImage, workflow string, flags ...string) *actRun {
	t.Helper()
	wfDir := filepath.Join(f.dir, ".github", "workflows")
	require.NoError(t, os.MkdirAll(wfDir, 0o755))
	wf := filepath.Join(wfDir, "deploy.yml")
	require.NoError(t, os.WriteFile(wf, []byte(workflow), 0o644))
	if _, err := os.Stat(filepath.Join(f.dir, ".git")); err != nil {
		// A checkout, as on a runner: act reads the ref and sha from git.
		git := exec.Command("sh", "-c", "git init -q && git add -A && git -c user.name=bluegreen -c user.email=bluegreen@example.invalid commit -q -m checkout")
		git.Dir = f.dir
		out, err := git.CombinedOutput()
		require.NoError(t, err, string(out))
	}
	home := t.TempDir()
	if len(flags) == 0 {
		flags = []string{"--bind", "--rm"}
	}
	args := append([]string{"push", "-W", wf, "-C", f.dir, "-P", "self-hosted=" + jobImage, "--pull=false"}, flags...)
	cmd := exec.Command(act, args...)
	cmd.Dir = f.dir
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	r := &actRun{startProc(t, "act", cmd)}
	return r
}

// cleanupAct removes what act leaves behind when it is cancelled: it
// cannot remove a docker step's container with a cancelled context.
func cleanupAct(t *testing.T, prefix string) {
	t.Cleanup(func() {
		docker := testenv.RequireDocker(t)
		ctx := context.Background()
		list, _ := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", prefix))})
		for _, c := range list {
			_ = docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		}
		vols, _ := docker.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("name", prefix))})
		for _, v := range vols.Volumes {
			_ = docker.VolumeRemove(ctx, v.Name, true)
		}
		// act's tool cache, which every act job mounts; in use by another
		// act test, it stays (without force) and the last one removes it.
		_ = docker.VolumeRemove(ctx, "act-toolcache", false)
	})
}

// TestActDeploysTwice runs the action the way a user's workflow does,
// through nektos/act: a self-hosted job on a busybox job image, a step
// `uses: docker://<this repo's image>`, and a later step printing the
// step's outputs. Two runs switch the host's nginx blue then green; the
// later step sees the right color each time, the job summary holds the
// summary, and no helper container is left.
func TestActDeploysTwice(t *testing.T) {
	t.Parallel()
	act := requireAct(t)
	img := actionImage(t)
	job := actJobImage(t)
	f := newFixture(t, nil)
	name := testenv.UniqueName("bgact")
	prefix := "act-" + name
	cleanupAct(t, prefix)

	for _, want := range []struct{ version, color, previous string }{
		{"v1", "blue", ""},
		{"v2", "green", "blue"},
	} {
		r := startAct(t, f, act, job, f.actWorkflow(name, img, want.version, nil))
		code, out := r.wait(4 * time.Minute)
		require.Equal(t, 0, code, "act failed")
		require.Contains(t, out, "bluegreen: running on the host")
		require.Contains(t, out, fmt.Sprintf("deployed active-color=%s previous-color=%s port=", want.color, want.previous))
		// act reads GITHUB_STEP_SUMMARY back after the step and prints it:
		// the hoisted helper wrote the file act gave the step.
		require.Contains(t, out, "Summary - ### bluegreen "+f.project, "the job summary file holds the summary")
		require.Contains(t, out, "| Health check http://127.0.0.1:")
		f.requireServes(want.version, want.color)
		require.Empty(t, helpersOf(t, f.dir), "no helper container is left")
	}
}

// TestActCancel sends SIGTERM to act while the deploy waits for the new
// color's health check. act removes the job container (--rm); the
// launcher, which shares its network, takes that as the cancel and tells
// the helper, which removes the half-started color and leaves nginx on
// the old one. No helper is left.
func TestActCancel(t *testing.T) {
	t.Parallel()
	act := requireAct(t)
	img := actionImage(t)
	job := actJobImage(t)
	f := newFixture(t, nil)
	name := testenv.UniqueName("bgact")
	prefix := "act-" + name
	cleanupAct(t, prefix)

	r := startAct(t, f, act, job, f.actWorkflow(name, img, "v1", nil))
	code, _ := r.wait(4 * time.Minute)
	require.Equal(t, 0, code, "act failed")
	f.requireServes("v1", "blue")
	before := f.include()

	slow := f.actWorkflow(name, img, "v2", map[string]string{"health-retries": "600", "health-interval": "200ms"})
	slow = strings.Replace(slow, "          VERSION: v2\n", "          VERSION: v2\n          READY_AFTER: 10m\n", 1)
	r = startAct(t, f, act, job, slow)
	r.waitFor("probe #", 3*time.Minute)
	cancelled := time.Now()
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
	code, _ = r.wait(time.Minute)
	t.Logf("act ended %s after SIGTERM with exit code %d", time.Since(cancelled).Round(time.Millisecond), code)
	require.NotEqual(t, 0, code)

	require.Eventually(t, func() bool { return len(helpersOf(t, f.dir)) == 0 && len(f.all("green")) == 0 },
		30*time.Second, 200*time.Millisecond, "no helper and no half-started color is left")
	t.Logf("helper and green gone %s after SIGTERM", time.Since(cancelled).Round(time.Millisecond))
	require.Equal(t, before, f.include(), "the include is untouched")
	f.requireServes("v1", "blue")
}

// TestActWithoutBind: without --bind act copies the workspace into a
// volume it deletes when the job ends. The action says to pass --bind and
// starts nothing.
func TestActWithoutBind(t *testing.T) {
	t.Parallel()
	act := requireAct(t)
	img := actionImage(t)
	job := actJobImage(t)
	f := newFixture(t, nil)
	name := testenv.UniqueName("bgact")
	cleanupAct(t, "act-"+name)

	r := startAct(t, f, act, job, f.actWorkflow(name, img, "v1", nil), "--rm")
	code, out := r.wait(4 * time.Minute)
	require.NotEqual(t, 0, code)
	require.Contains(t, out, "runs without --bind")
	require.Contains(t, out, "Run act with --bind")
	require.Empty(t, f.all("blue"), "nothing was started")
	require.Empty(t, helpersOf(t, f.dir))
}

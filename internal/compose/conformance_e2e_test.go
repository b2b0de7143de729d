//go:build e2e

package compose

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// The conformance test holds the engine to its promise: for every supported
// key, the container Up creates is the one docker compose would create. The
// peer is the machine's docker-compose (v1.29, the tool the seed's
// deploy.sh runs). Each project under testdata/compose is created once by
// the peer and once by Up, with the same project name, one after the other;
// both are inspected and every field that decides how the app runs is
// compared. A difference fails the test unless knownDifferences lists it
// with its reason; KNOWN-DIFFERENCES.md repeats that table for the README.

// conformanceFiles names the -f files of the projects that do not use
// compose.yml alone, in merge order.
var conformanceFiles = map[string][]string{
	"seed":   {"docker-compose.blue.yml"},
	"merged": {"compose.yml", "compose.prod.yml"},
}

// conformanceEnv is the extra shell environment of some projects.
var conformanceEnv = map[string]map[string]string{
	"profiles":      {"COMPOSE_PROFILES": "monitoring"},
	"interpolation": {"OVERRIDDEN": "from-shell"},
}

// TestConformanceWithDockerComposeV1 creates every project under
// testdata/compose with docker-compose and with Up and compares them.
func TestConformanceWithDockerComposeV1(t *testing.T) {
	t.Parallel()
	bin := requireDockerComposeV1(t)
	img := testenv.AppImage(t)
	cli := testenv.RequireDocker(t)
	root := filepath.Join(testenv.RepoRoot(t), "testdata", "compose")
	dirs := conformanceDirs(t, root, kindV1)
	if len(dirs) < 18 {
		t.Fatalf("testdata/compose holds %d projects docker-compose v1 can read, want at least eighteen", len(dirs))
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	ran := 0
	t.Run("projects", func(t *testing.T) {
		for _, dir := range dirs {
			t.Run(dir, func(t *testing.T) {
				t.Parallel()
				known := conformProject(t, cli, []string{bin}, knownDifferences, img, root, dir)
				mu.Lock()
				defer mu.Unlock()
				ran++
				for _, k := range known {
					seen[k] = true
				}
			})
		}
	})
	if t.Failed() || ran < len(dirs) {
		return // a failure, or -run picked some projects only
	}
	for _, kd := range knownDifferences {
		if !seen[kd.Field+": "+kd.Ours] {
			t.Errorf("known difference %s (%s) was not seen in any project: remove it from knownDifferences and KNOWN-DIFFERENCES.md", kd.Field, kd.Ours)
		}
	}
}

// TestConformanceWithDockerComposeV2 holds the engine to docker compose v2
// itself (the CLI plugin scripts/setup.sh builds), the tool whose
// create.go the mapping follows: every project docker-compose v1 reads is
// created by both, with no difference allowed but those in
// knownDifferencesV2.
func TestConformanceWithDockerComposeV2(t *testing.T) {
	t.Parallel()
	peer := requireDockerComposeV2(t)
	img := testenv.AppImage(t)
	cli := testenv.RequireDocker(t)
	root := filepath.Join(testenv.RepoRoot(t), "testdata", "compose")
	dirs := conformanceDirs(t, root, kindV1)
	t.Run("projects", func(t *testing.T) {
		for _, dir := range dirs {
			t.Run(dir, func(t *testing.T) {
				t.Parallel()
				conformProject(t, cli, peer, knownDifferencesV2, img, root, dir)
			})
		}
	})
}

// requireDockerComposeV2 returns the command that runs docker compose v2.
func requireDockerComposeV2(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "compose", "version", "--short").Output()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "2.") {
		if testenv.InCI() {
			t.Fatalf("docker compose v2 is required in CI (scripts/setup.sh installs it): %v %s", err, out)
		}
		t.Skipf("docker compose v2 not installed (scripts/setup.sh installs it): %v", err)
	}
	return []string{"docker", "compose"}
}

// conformProject runs one project through both tools and compares them.
// peer is the command that runs the other tool; known are the differences
// from it that are allowed. It returns the known differences it saw.
func conformProject(t *testing.T, cli *client.Client, peerCmd []string, known []knownDifference, img, root, name string) []string {
	dir := filepath.Join(t.TempDir(), name)
	if err := throwaway.CopyDir(filepath.Join(root, name), dir); err != nil {
		t.Fatal(err)
	}
	project := newProjectName(t) + "-" + name
	env := conformanceEnvironment(t, cli, img, project)
	for k, v := range conformanceEnv[name] {
		env[k] = v
	}
	files := conformanceFiles[name]
	if files == nil {
		files = []string{"compose.yml"}
	}
	t.Cleanup(func() { removeProject(cli, project, env["UNIQ"]+"-shared") })

	// The peer first: up, inspect, down with its volumes, so that Up
	// creates everything afresh.
	args := []string{"-p", project}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	peerStart := time.Now()
	runPeer(t, peerCmd, dir, env, append(args, "up", "-d")...)
	peerUp := time.Since(peerStart)
	peer := inspectProject(t, cli, project)
	runPeer(t, peerCmd, dir, env, append(args, "down", "-v", "-t", "0")...)

	abs := make([]string, len(files))
	for i, f := range files {
		abs[i] = filepath.Join(dir, f)
	}
	p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: abs, WorkingDir: dir, Environment: env})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	e := &Engine{Docker: cli}
	ensureConformanceImages(t, cli, e, p)
	ourStart := time.Now()
	if _, err := e.Up(ctxTimeout(t, 2*time.Minute), p); err != nil {
		t.Fatalf("Up: %v", err)
	}
	ourUp := time.Since(ourStart)
	ours := inspectProject(t, cli, project)
	t.Logf("up: %s %s, ours %s", strings.Join(peerCmd, " "), peerUp.Round(time.Millisecond), ourUp.Round(time.Millisecond))
	return compareProjects(t, ours, peer, known)
}

// conformanceEnvironment is the shell environment every project is
// interpolated with (see testdata/compose/README.md). It creates the
// external network and volume the projects expect.
func conformanceEnvironment(t *testing.T, cli *client.Client, img, project string) map[string]string {
	t.Helper()
	ctx := ctxTimeout(t, time.Minute)
	extNet, extVol := project+"-ext", project+"-uploads"
	if _, err := cli.NetworkCreate(ctx, extNet, network.CreateOptions{Driver: "bridge"}); err != nil {
		t.Fatalf("failed to create external network %s: %v", extNet, err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), extNet) })
	if _, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: extVol}); err != nil {
		t.Fatalf("failed to create external volume %s: %v", extVol, err)
	}
	t.Cleanup(func() { _ = cli.VolumeRemove(context.Background(), extVol, true) })
	lo := testenv.FreePorts(t, 2)
	a, b := randInt(t, 50)+200, randInt(t, 256)
	return map[string]string{
		"APP_IMAGE":  img,
		"UNIQ":       project,
		"PORT_A":     strconv.Itoa(testenv.FreePort(t)),
		"PORT_B":     strconv.Itoa(testenv.FreePort(t)),
		"PORT_C":     strconv.Itoa(testenv.FreePort(t)),
		"PORT_RANGE": fmt.Sprintf("%d-%d", lo, lo+1),
		"EXT_NET":    extNet,
		"EXT_VOLUME": extVol,
		"ABS_DIR":    t.TempDir(),
		"SUBNET":     fmt.Sprintf("10.%d.%d.0/24", a, b),
		"STATIC_IP":  fmt.Sprintf("10.%d.%d.10", a, b),
		"FROM_SHELL": "shell-value",
	}
}

// runPeer runs the peer tool with only env and what it needs to reach the
// daemon, so that nothing else from the test's environment leaks into the
// interpolation.
func runPeer(t *testing.T, peer []string, dir string, env map[string]string, args ...string) string {
	t.Helper()
	cmd := exec.Command(peer[0], append(append([]string{}, peer[1:]...), args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "COMPOSE_INTERACTIVE_NO_CLI=1", "COMPOSE_HTTP_TIMEOUT=300"}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+h)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", strings.Join(peer, " "), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// removeProject removes whatever either tool left of project.
func removeProject(cli *client.Client, project string, extraVolumes ...string) {
	throwaway.RemoveProject(cli, project)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, v := range extraVolumes {
		_ = cli.VolumeRemove(ctx, v, true)
	}
}

func randInt(t *testing.T, n int64) int {
	t.Helper()
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		t.Fatal(err)
	}
	return int(v.Int64())
}

//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// TestActionImageSize holds the image under its 20 MB budget: the image is
// pulled on every cold runner, before the deploy can start.
func TestActionImageSize(t *testing.T) {
	t.Parallel()
	image := actionImage(t)
	docker := testenv.RequireDocker(t)
	info, err := docker.ImageInspect(context.Background(), image)
	require.NoError(t, err)
	mb := float64(info.Size) / 1e6
	t.Logf("action image %s: %.1f MB", image, mb)
	require.Less(t, mb, 20.0)
}

// BenchmarkHoist prints the action image's size and the launcher's
// overhead: from the action container's start (Docker's StartedAt) to the
// helper's first log line as the launcher relays it (docker logs -t). The
// run is a `mode: status` run, so the deploy itself adds next to nothing.
//
//	go test -tags e2e ./e2e -run '^$' -bench Hoist -benchtime 5x
func BenchmarkHoist(b *testing.B) {
	image := actionImage(b)
	docker := testenv.RequireDocker(b)
	info, err := docker.ImageInspect(context.Background(), image)
	require.NoError(b, err)
	b.ReportMetric(float64(info.Size)/1e6, "image-MB")

	nginx := testenv.StartNginx(b, testenv.NginxOptions{})
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(singleFile), 0o644))
	inputs := map[string]string{
		"mode":                 "status",
		"project-name":         testenv.UniqueName("bgbench"),
		"nginx-include-path":   nginx.IncludePath,
		"nginx-test-command":   strings.Join(nginx.TestCmd(), " "),
		"nginx-reload-command": strings.Join(nginx.ReloadCmd(), " "),
	}
	var total, startToRun time.Duration
	for i := 0; i < b.N; i++ {
		overhead, wall := hoistOnce(b, image, dir, inputs)
		total += overhead
		startToRun += wall
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "overhead-ms")
	b.ReportMetric(float64(startToRun.Milliseconds())/float64(b.N), "docker-run-to-helper-ms")
}

// hoistOnce runs the image once without --rm and reads the timings from
// Docker: the container's start and the helper's first relayed line.
func hoistOnce(b *testing.B, image, workspace string, inputs map[string]string) (overhead, wall time.Duration) {
	b.Helper()
	name := testenv.UniqueName("bgbench")
	args := []string{"run", "--name", name, "--workdir", "/github/workspace",
		"-e", "GITHUB_ACTIONS=true", "-e", "GITHUB_WORKSPACE=/github/workspace", "-e", "APP_IMAGE=" + testenv.AppImage(b),
		"-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", workspace + ":/github/workspace"}
	for k, v := range inputs {
		args = append(args, "-e", "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	args = append(args, image)
	defer func() { _ = exec.Command("docker", "rm", "-f", name).Run() }()
	began := time.Now()
	out, err := exec.Command("docker", args...).CombinedOutput()
	require.NoError(b, err, string(out))
	logs, err := exec.Command("docker", "logs", "-t", name).CombinedOutput()
	require.NoError(b, err, string(logs))
	docker := testenv.RequireDocker(b)
	info, err := docker.ContainerInspect(context.Background(), name)
	require.NoError(b, err)
	started, err := time.Parse(time.RFC3339Nano, info.State.StartedAt)
	require.NoError(b, err)
	for _, line := range strings.Split(string(logs), "\n") {
		ts, text, ok := strings.Cut(line, " ")
		if !ok || !strings.Contains(text, "bluegreen: running on the host") {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, ts)
		require.NoError(b, err)
		return at.Sub(started), at.Sub(began)
	}
	b.Fatalf("the helper's first line is not in the launcher's log:\n%s", logs)
	return 0, 0
}

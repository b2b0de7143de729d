//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// fiveServices is the color the speed comparison brings up and down.
const fiveServices = `services:
  web:
    image: ${APP_IMAGE}
    ports:
      - "127.0.0.1:${PORT}:8080"
    healthcheck:
      test: ["CMD", "/app", "healthcheck"]
      interval: 1s
    depends_on: [cache, queue]
  api:
    image: ${APP_IMAGE}
    environment:
      PORT: "9000"
    depends_on: [cache]
  worker:
    image: ${APP_IMAGE}
    environment:
      MODE: worker
    depends_on: [queue]
  cache:
    image: ${APP_IMAGE}
    environment:
      MODE: worker
  queue:
    image: ${APP_IMAGE}
    environment:
      MODE: worker
`

// BenchmarkFiveServiceUpDown measures bringing a five-service color up and
// taking it down, with docker-compose v1 (up -d, down) and with our engine
// (Up, Down), alternately in the same run on the same daemon. It reports
// the mean seconds of each; it asserts nothing about them.
//
//	go test -tags e2e ./e2e -run '^$' -bench FiveServiceUpDown -benchtime 5x
func BenchmarkFiveServiceUpDown(b *testing.B) {
	bin := dockerComposeV1(b)
	docker := testenv.RequireDocker(b)
	img := testenv.AppImage(b)
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, "compose.yml"), []byte(fiveServices), 0o644))
	project := fmt.Sprintf("bge2e-bench-%d-green", time.Now().UnixNano()%1_000_000_000)
	env := map[string]string{"APP_IMAGE": img, "PORT": itoa(testenv.FreePort(b))}
	b.Cleanup(func() { throwaway.RemoveProject(docker, project) })
	e := &compose.Engine{Docker: docker}
	ctx := context.Background()

	v1 := func(args ...string) time.Duration {
		cmd := exec.Command(bin, append([]string{"-p", project, "-f", "compose.yml"}, args...)...)
		cmd.Dir = dir
		cmd.Env = composeEnv()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		require.NoError(b, err, string(out))
		return time.Since(start)
	}
	var v1Up, v1Down, ourUp, ourDown time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v1Up += v1("up", "-d")
		v1Down += v1("down")

		start := time.Now()
		p, err := compose.Load(ctx, compose.LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}, Environment: env})
		require.NoError(b, err)
		_, err = e.Up(ctx, p)
		require.NoError(b, err)
		ourUp += time.Since(start)
		start = time.Now()
		require.NoError(b, e.Down(ctx, project, nil))
		ourDown += time.Since(start)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(v1Up.Seconds()/n, "compose-up-s")
	b.ReportMetric(v1Down.Seconds()/n, "compose-down-s")
	b.ReportMetric(ourUp.Seconds()/n, "ours-up-s")
	b.ReportMetric(ourDown.Seconds()/n, "ours-down-s")
	b.Logf("five services, mean of %d: docker-compose up -d %s, down %s; ours Up %s (with Load), Down %s",
		b.N, (v1Up / time.Duration(b.N)).Round(time.Millisecond), (v1Down / time.Duration(b.N)).Round(time.Millisecond),
		(ourUp / time.Duration(b.N)).Round(time.Millisecond), (ourDown / time.Duration(b.N)).Round(time.Millisecond))
}

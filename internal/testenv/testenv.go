// Package testenv gives tests the real things they talk to: the Docker
// daemon, a private nginx on a high port, and the test app image built from
// testdata/app. On a developer machine without Docker or nginx the tests
// that need them skip with a message; under CI (CI=true) they fail instead,
// so a CI run can never pass by skipping. The machinery lives in
// internal/sandbox, which the demo and the benchmarks share.
package testenv

import (
	"context"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/sandbox"
)

// InCI reports whether the tests run under CI, where nothing may skip.
func InCI() bool { return os.Getenv("CI") == "true" || os.Getenv("CI") == "1" }

// unavailable skips the test on a developer machine and fails it in CI.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s is required in CI (CI=true) but unavailable: %v", what, err)
	}
	t.Skipf("skipping: %s is not available on this machine (%v); CI runs this test", what, err)
}

// RequireDocker returns a client for the local Docker daemon, or skips.
func RequireDocker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		unavailable(t, "Docker", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		unavailable(t, "Docker", err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// RequireNginx returns the path of the nginx binary, or skips.
func RequireNginx(t testing.TB) string {
	t.Helper()
	bin, err := sandbox.NginxBinary()
	if err != nil {
		unavailable(t, "nginx", err)
	}
	return bin
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := sandbox.RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := sandbox.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

var (
	appOnce  sync.Once
	appImage string
	appErr   error
)

// AppImage builds testdata/app into a FROM scratch image once per test
// binary and returns its tag.
func AppImage(t testing.TB) string {
	t.Helper()
	cli := RequireDocker(t)
	root := RepoRoot(t)
	appOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		appImage, appErr = sandbox.BuildAppImage(ctx, cli, root)
	})
	if appErr != nil {
		t.Fatalf("failed to build the test app image: %v", appErr)
	}
	return appImage
}

// BuildImage builds a tar build context into an image tagged tag.
func BuildImage(ctx context.Context, cli *client.Client, buildCtx io.Reader, tag string) error {
	return sandbox.BuildImage(ctx, cli, buildCtx, tag)
}

// GoBuild builds the Go package pkg (relative to the repository root) into
// a static linux binary at out.
func GoBuild(root, pkg, out string) error { return sandbox.GoBuild(root, pkg, out) }

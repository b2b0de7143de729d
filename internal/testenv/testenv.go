// Package testenv is the test side of the throw-away environments: helpers
// that take a testing.TB and give a test the real things it talks to (the
// Docker daemon, a private nginx on a high port, the test app image built
// from testdata/app, an nginx container, ports of the test package's own
// block), cleaned up when the test ends. On a developer machine without
// Docker or nginx the tests that need them skip with a message; under CI
// (CI=true) they fail instead, so a CI run can never pass by skipping.
// Those tests sit behind the e2e build tag, so that go test ./... never
// needs them. The machinery itself lives in package throwaway, which the
// demo and the benchmarks share without a testing.T.
package testenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"
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
	bin, err := throwaway.NginxBinary()
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
	root, err := throwaway.RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// PortBlocks gives each test package that starts servers or publishes
// host ports a block of its own, keyed by the package's directory in the
// repository. go test runs packages in parallel against one machine, and
// a port one test binary checked and released is free for the others:
// with disjoint blocks two packages never pick the same port, and being
// below the ephemeral range the blocks are never taken by the outgoing
// connections the load tests make by the thousand (see throwaway.PortRange).
// A package not listed here cannot ask for ports: add a block for it.
var PortBlocks = map[string]throwaway.PortRange{
	"e2e":              {First: 20000, Last: 23999},
	"internal/compose": {First: 24000, Last: 25999},
	"internal/nginx":   {First: 26000, Last: 26999},
	"internal/testenv": {First: 27000, Last: 27499},
}

var (
	portsOnce sync.Once
	ports     *throwaway.Ports
	portsErr  error
)

// packagePorts returns the hand-out of the running test package's block:
// go test runs a package's tests in the package's directory.
func packagePorts(t testing.TB) *throwaway.Ports {
	t.Helper()
	portsOnce.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			portsErr = err
			return
		}
		root, err := throwaway.RepoRoot(wd)
		if err != nil {
			portsErr = err
			return
		}
		pkg, err := filepath.Rel(root, wd)
		if err != nil {
			portsErr = err
			return
		}
		block, ok := PortBlocks[filepath.ToSlash(pkg)]
		if !ok {
			portsErr = fmt.Errorf("test package %s has no port block: add one to testenv.PortBlocks", pkg)
			return
		}
		ports = throwaway.NewPorts(block)
	})
	if portsErr != nil {
		t.Fatalf("failed to find this package's ports: %v", portsErr)
	}
	return ports
}

// FreePort returns a port of this test package's block that is free right
// now and that no other test of the package has been given.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := packagePorts(t).Free()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// FreePorts is FreePort for n consecutive ports; it returns the first.
func FreePorts(t testing.TB, n int) int {
	t.Helper()
	port, err := packagePorts(t).FreeRun(n)
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
		appImage, appErr = throwaway.BuildAppImage(ctx, cli, root)
	})
	if appErr != nil {
		t.Fatalf("failed to build the test app image: %v", appErr)
	}
	return appImage
}

// BuildImage builds a tar build context into an image tagged tag.
func BuildImage(ctx context.Context, cli *client.Client, buildCtx io.Reader, tag string) error {
	return throwaway.BuildImage(ctx, cli, buildCtx, tag)
}

// GoBuild builds the Go package pkg (relative to the repository root) into
// a static linux binary at out.
func GoBuild(root, pkg, out string) error { return throwaway.GoBuild(root, pkg, out) }

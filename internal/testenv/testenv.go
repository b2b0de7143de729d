// Package testenv gives tests the real things they talk to: the Docker
// daemon, a private nginx on a high port, and the test app image built from
// testdata/app. On a developer machine without Docker or nginx the tests
// that need them skip with a message; under CI (CI=true) they fail instead,
// so a CI run can never pass by skipping.
package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
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
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	unavailable(t, "nginx", fmt.Errorf("no nginx binary in PATH or /usr/sbin"))
	return ""
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var (
	appOnce  sync.Once
	appImage string
	appErr   error
)

// AppImage builds testdata/app into a FROM scratch image once per test
// binary and returns its tag. The tag carries the binary's hash, so test
// packages running in parallel agree on it without a race.
func AppImage(t testing.TB) string {
	t.Helper()
	cli := RequireDocker(t)
	root := RepoRoot(t)
	appOnce.Do(func() { appImage, appErr = buildApp(cli, root) })
	if appErr != nil {
		t.Fatalf("failed to build the test app image: %v", appErr)
	}
	return appImage
}

func buildApp(cli *client.Client, root string) (string, error) {
	dir, err := os.MkdirTemp("", "bluegreen-app-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "app")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./testdata/app")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./testdata/app: %v: %s", err, out)
	}
	binBytes, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "testdata/app/Dockerfile"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(binBytes, dockerfile...))
	tag := "bluegreen-testapp:" + hex.EncodeToString(sum[:6])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	buildCtx, err := tarFiles(map[string][]byte{"Dockerfile": dockerfile, "app": binBytes})
	if err != nil {
		return "", err
	}
	if err := BuildImage(ctx, cli, buildCtx, tag); err != nil {
		return "", err
	}
	return tag, nil
}

// BuildImage builds a tar build context into an image tagged tag.
func BuildImage(ctx context.Context, cli *client.Client, buildCtx io.Reader, tag string) error {
	resp, err := cli.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
	if err != nil {
		return fmt.Errorf("failed to build image %s: %w", tag, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if bytes.Contains(out, []byte(`"errorDetail"`)) {
		return fmt.Errorf("failed to build image %s: %s", tag, out)
	}
	return nil
}

func tarFiles(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		mode := int64(0o644)
		if !strings.HasSuffix(name, "Dockerfile") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// GoBuild builds the Go package pkg (relative to the repository root) into
// a static linux binary at out.
func GoBuild(root, pkg, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v: %s", pkg, err, b)
	}
	return nil
}

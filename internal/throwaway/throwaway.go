// Package throwaway is the machinery for throw-away blue-green
// environments on this machine: the example app built into a FROM scratch
// image without a registry, a private nginx on a high port with its own
// prefix, ports that nothing else was handed, the environment of one run of
// the action, and removal of what a run left behind. It takes no
// testing.T and never skips: the demo and the benchmarks (through
// cmd/internal/demosite) and the tests (through internal/testenv, which
// adds the skip-or-fail rules of a test) all stand on it, so what the
// README's one-command demo shows is what the tests check.
package throwaway

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/lock"
)

// AppDockerfile is the example app's image: its static binary and nothing else.
const AppDockerfile = `# The example app: a static Go binary on scratch, built without a registry.
FROM scratch
COPY app /app
EXPOSE 8080
ENTRYPOINT ["/app"]
`

// RepoRoot finds the directory holding go.mod, from dir upwards.
func RepoRoot(dir string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above " + dir)
		}
		dir = parent
	}
}

// GoBuild builds the Go package pkg (relative to root) into a static linux
// binary at out.
func GoBuild(root, pkg, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("failed to build %s: %v: %s", pkg, err, b)
	}
	return nil
}

// BuildAppImage builds testdata/app into a FROM scratch image and returns
// its tag.
func BuildAppImage(ctx context.Context, docker client.APIClient, root string) (string, error) {
	return BuildBinaryImage(ctx, docker, root, "./testdata/app", "app", AppDockerfile, "bluegreen-testapp")
}

// BuildBinaryImage builds the Go package pkg (relative to root) into a
// static binary named name, and an image from it with dockerfile (which
// COPYs name). The tag is repo plus a hash of the binary and the
// Dockerfile, so concurrent builders agree on it and an existing image is
// reused.
func BuildBinaryImage(ctx context.Context, docker client.APIClient, root, pkg, name, dockerfile, repo string) (string, error) {
	dir, err := os.MkdirTemp("", "bluegreen-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, name)
	if err := GoBuild(root, pkg, bin); err != nil {
		return "", err
	}
	binBytes, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(binBytes, dockerfile...))
	tag := repo + ":" + hex.EncodeToString(sum[:6])
	unlock, err := LockImage(ctx, tag)
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := docker.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	buildCtx, err := TarFiles(map[string][]byte{"Dockerfile": []byte(dockerfile), name: binBytes})
	if err != nil {
		return "", err
	}
	if err := BuildImage(ctx, docker, buildCtx, tag); err != nil {
		return "", err
	}
	return tag, nil
}

// LockImage serialises the making of the image tag across processes, and
// returns the unlock: test packages run in parallel against one daemon and
// make the same images. Two builders of one tag would each make an image
// (the builder stamps each with its creation time, so their ids differ)
// and the tag would end on whichever finished last, under the feet of a
// test that already created containers from the first; the conformance
// test, which compares image ids, saw that. Under the lock the second
// builder finds the first one's image. The lock is a flock(2) in a private
// directory under the temp directory, so it dies with its holder.
func LockImage(ctx context.Context, tag string) (unlock func(), err error) {
	dir, name := imageLock(tag)
	l, err := lock.Acquire(ctx, dir, name, lock.Holder{Workflow: "make image " + tag}, 10*time.Minute, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to lock the making of image %s: %w", tag, err)
	}
	return func() { _ = l.Release() }, nil
}

// RemoveImageLock removes the lock file of tag, for a tag nobody else
// makes (a test's own); the files of shared tags stay.
func RemoveImageLock(tag string) {
	if path, err := lock.Path(imageLock(tag)); err == nil {
		_ = os.Remove(path)
	}
}

// imageLock is the directory and the lock name of tag's lock.
func imageLock(tag string) (dir, name string) {
	return filepath.Join(os.TempDir(), fmt.Sprintf("bluegreen-image-locks-%d", os.Geteuid())),
		"image-" + strings.NewReplacer("/", "_", ":", "_").Replace(tag)
}

// BuildImage builds a tar build context into an image tagged tag.
func BuildImage(ctx context.Context, docker client.APIClient, buildCtx io.Reader, tag string) error {
	resp, err := docker.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{Tags: []string{tag}, Remove: true, ForceRemove: true})
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

// RemoveImage removes an image, ignoring one that is gone already.
func RemoveImage(ctx context.Context, docker client.APIClient, tag string) {
	_, _ = docker.ImageRemove(ctx, tag, image.RemoveOptions{Force: true, PruneChildren: true})
}

// TarFiles makes a tar stream of the given files; files not named
// Dockerfile are executable.
func TarFiles(files map[string][]byte) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		mode := int64(0o755)
		if strings.HasSuffix(name, "Dockerfile") {
			mode = 0o644
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

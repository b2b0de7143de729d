// Package sandbox sets up a throw-away blue-green stage on this machine:
// the example app built into a FROM scratch image without a registry, and a
// private nginx on a high port with its own prefix. The demo command, the
// benchmarks and the tests all stand on it, so what the README's one-command
// demo shows is what the tests check.
package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// NginxBinary finds nginx in PATH or /usr/sbin.
func NginxBinary() (string, error) {
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", errors.New("no nginx binary in PATH or /usr/sbin: install it (Debian: apt-get install nginx-light)")
}

// Nginx is a private nginx: its own prefix, config and port on 127.0.0.1.
type Nginx struct {
	Bin         string
	Prefix      string // holds conf, logs and the include
	Conf        string // path of nginx.conf
	IncludePath string // the include a deploy rewrites
	Port        int    // the front door on 127.0.0.1
	cmd         *exec.Cmd
	done        chan struct{}
}

// NginxOptions shapes the private nginx.
type NginxOptions struct {
	// Prefix is the directory to use (created if missing).
	Prefix string
	// Include is the include's initial content. Empty writes the seed's
	// include pointing at port 1, where nothing answers, so that nginx can
	// start before anything is deployed.
	Include string
	// HTTP is extra text for the http block.
	HTTP string
	// Server is the body of the server block after the listen line. Empty
	// gives the seed's: include the include, proxy_pass $service_url.
	Server string
	// Workers is worker_processes (default 2).
	Workers int
	// Port is the front door's port on 127.0.0.1 (default: FreePort).
	Port int
}

// SeedServer is the seed's server block body: the include in server
// context and proxy_pass to $service_url. %INCLUDE% is replaced.
const SeedServer = `
    include %INCLUDE%;
    location / {
        proxy_pass $service_url;
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
    }
`

// URL returns the front door's URL for path.
func (n *Nginx) URL(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", n.Port, path) }

// TestCmd is the nginx -t command line for this instance.
func (n *Nginx) TestCmd() []string { return []string{n.Bin, "-p", n.Prefix, "-c", n.Conf, "-t"} }

// ReloadCmd is the nginx -s reload command line for this instance.
func (n *Nginx) ReloadCmd() []string {
	return []string{n.Bin, "-p", n.Prefix, "-c", n.Conf, "-s", "reload"}
}

// PID is the master's process id.
func (n *Nginx) PID() int { return n.cmd.Process.Pid }

// ErrorLog returns the error log so far.
func (n *Nginx) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.Prefix, "logs", "error.log"))
	return string(b)
}

// StartNginx starts a private nginx in the foreground of a child process.
// Close stops it.
func StartNginx(opts NginxOptions) (*Nginx, error) {
	bin, err := NginxBinary()
	if err != nil {
		return nil, err
	}
	prefix := opts.Prefix
	if prefix == "" {
		if prefix, err = os.MkdirTemp("", "bluegreen-nginx-"); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"logs", "conf.d", "tmp"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			return nil, err
		}
	}
	port := opts.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	n := &Nginx{
		Bin:         bin,
		Prefix:      prefix,
		Conf:        filepath.Join(prefix, "nginx.conf"),
		IncludePath: filepath.Join(prefix, "conf.d", "service-url.inc"),
		Port:        port,
		done:        make(chan struct{}),
	}
	include := opts.Include
	if include == "" {
		include = "set $service_url http://127.0.0.1:1;\n"
	}
	if err := os.WriteFile(n.IncludePath, []byte(include), 0o644); err != nil {
		return nil, err
	}
	server := opts.Server
	if server == "" {
		server = SeedServer
	}
	workers := opts.Workers
	if workers == 0 {
		workers = 2
	}
	conf := fmt.Sprintf(`daemon off;
master_process on;
user root;
worker_processes %d;
pid %s/nginx.pid;
error_log %s/logs/error.log info;
events { worker_connections 1024; }
http {
    access_log %s/logs/access.log;
    client_body_temp_path %s/tmp/body;
    proxy_temp_path %s/tmp/proxy;
%s
    server {
        listen 127.0.0.1:%d;
%s
    }
}
`, workers, prefix, prefix, prefix, prefix, prefix, opts.HTTP, n.Port, server)
	conf = strings.ReplaceAll(conf, "%INCLUDE%", n.IncludePath)
	if err := os.WriteFile(n.Conf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	n.cmd = exec.Command(bin, "-p", prefix, "-c", n.Conf)
	n.cmd.Stdout, n.cmd.Stderr = os.Stderr, os.Stderr
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start nginx: %w", err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(n.Port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return n, nil
		}
		select {
		case <-n.done:
			return nil, fmt.Errorf("nginx exited at start: %s", n.ErrorLog())
		default:
		}
		if time.Now().After(deadline) {
			n.Close()
			return nil, fmt.Errorf("nginx did not listen on %d within 10s: %s", n.Port, n.ErrorLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops nginx gracefully, or kills it after 10 s.
func (n *Nginx) Close() {
	if n == nil || n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.done
	}
}

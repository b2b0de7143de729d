package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// NginxImageRepo is the repository of the nginx image the tests import.
const NginxImageRepo = "bluegreen-testnginx"

var (
	nginxImageOnce sync.Once
	nginxImageTag  string
	nginxImageErr  error
)

// NginxImage returns the tag of an nginx image made from the host's own
// nginx, importing it once per test binary. No registry is reachable from
// the test machines, so the image is a root file system assembled here and
// loaded with docker import: the nginx binary, the shared libraries ldd
// lists for it, and the few /etc files nginx reads (users for its worker,
// mime.types). The tag is a hash of that root, so test packages running at
// the same time agree on it, and it is kept between runs like the app image.
func NginxImage(t testing.TB) string {
	t.Helper()
	cli := RequireDocker(t)
	bin := RequireNginx(t)
	nginxImageOnce.Do(func() { nginxImageTag, nginxImageErr = importNginx(cli, bin) })
	if nginxImageErr != nil {
		t.Fatalf("failed to build the nginx test image: %v", nginxImageErr)
	}
	return nginxImageTag
}

// nginxRootFiles are the /etc files of the image. nginx resolves its
// worker user (Debian's www-data, or nobody) through passwd and group;
// nsswitch makes host names in upstream blocks resolve through files then
// Docker's DNS, as on a normal distribution.
var nginxRootFiles = map[string]string{
	"etc/passwd":        "root:x:0:0:root:/root:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
	"etc/group":         "root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n",
	"etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
	"etc/nginx/nginx.conf": "user www-data;\nworker_processes 2;\npid /run/nginx.pid;\nerror_log stderr;\n" +
		"events { worker_connections 1024; }\nhttp {\n    include /etc/nginx/mime.types;\n    include /etc/nginx/conf.d/*.conf;\n}\n",
}

// nginxRootDirs are the empty directories nginx expects: its compiled-in
// temp, log and pid paths.
var nginxRootDirs = []string{"tmp", "run", "var/lock", "var/log/nginx", "var/lib/nginx", "etc/nginx/conf.d", "usr/share/nginx"}

func importNginx(cli *client.Client, bin string) (string, error) {
	files, err := nginxRoot(bin)
	if err != nil {
		return "", err
	}
	root, err := tarRoot(files)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(root)
	tag := NginxImageRepo + ":" + hex.EncodeToString(sum[:6])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Packages that import it at the same time must not make two images
	// under one tag (see throwaway.LockImage).
	unlock, err := throwaway.LockImage(ctx, tag)
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(root), SourceName: "-"}, tag, image.ImportOptions{
		Changes: []string{
			`ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
			`CMD ["nginx", "-g", "daemon off;"]`,
		},
	})
	if err != nil {
		return "", fmt.Errorf("failed to import image %s: %w", tag, err)
	}
	defer rc.Close()
	out, _ := io.ReadAll(rc)
	if bytes.Contains(out, []byte(`"errorDetail"`)) {
		return "", fmt.Errorf("failed to import image %s: %s", tag, out)
	}
	return tag, nil
}

// rootFile is one file of the image: its content and mode.
type rootFile struct {
	data []byte
	mode int64
}

// nginxRoot collects the image's files, keyed by path without a leading /.
func nginxRoot(bin string) (map[string]rootFile, error) {
	files := map[string]rootFile{}
	add := func(host, at string, mode int64) error {
		data, err := os.ReadFile(host) // follows symlinks: the image holds the real bytes
		if err != nil {
			return fmt.Errorf("failed to read %s for the nginx image: %w", host, err)
		}
		files[strings.TrimPrefix(at, "/")] = rootFile{data: data, mode: mode}
		return nil
	}
	if err := add(bin, "/usr/sbin/nginx", 0o755); err != nil {
		return nil, err
	}
	libs, err := lddPaths(bin)
	if err != nil {
		return nil, err
	}
	for _, lib := range libs {
		if err := add(lib, lib, 0o755); err != nil {
			return nil, err
		}
	}
	if err := add("/etc/nginx/mime.types", "/etc/nginx/mime.types", 0o644); err != nil {
		files["etc/nginx/mime.types"] = rootFile{data: []byte("types {\n    text/html html;\n    text/plain txt;\n}\n"), mode: 0o644}
	}
	for path, text := range nginxRootFiles {
		files[path] = rootFile{data: []byte(text), mode: 0o644}
	}
	return files, nil
}

// lddPaths lists the absolute paths of the libraries ldd reports for bin,
// the dynamic loader included.
func lddPaths(bin string) ([]string, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("failed to run ldd %s: %w", bin, err)
	}
	var paths []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			paths = append(paths, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			paths = append(paths, f[0])
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("failed to read the libraries of %s: ldd listed none: %s", bin, out)
	}
	return paths, nil
}

// tarRoot writes files and the empty directories into a tar, in a fixed
// order with fixed times, so that the same host gives the same hash.
func tarRoot(files map[string]rootFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, d := range nginxRootDirs {
		dirs[d] = true
	}
	for path := range files {
		for d := filepath.Dir(path); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for _, d := range nginxRootDirs { // parents of the empty directories
		for p := filepath.Dir(d); p != "."; p = filepath.Dir(p) {
			dirs[p] = true
		}
	}
	var names []string
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names) // a parent sorts before its children
	epoch := time.Unix(0, 0)
	for _, d := range names {
		mode := int64(0o755)
		if d == "tmp" || d == "var/lock" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode, ModTime: epoch}); err != nil {
			return nil, err
		}
	}
	names = names[:0]
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		f := files[p]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

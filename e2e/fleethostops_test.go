//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// logs returns the host's init, dockerd, nginx and sshd logs, tails.
func (h *simHost) logs() string {
	var b strings.Builder
	for _, f := range []string{"init.log", "dockerd.log", "sshd.log"} {
		data, _ := os.ReadFile(filepath.Join(h.base, f))
		s := string(data)
		if len(s) > 3000 {
			s = s[len(s)-3000:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", f, s)
	}
	return b.String()
}

// stop kills every process of the host, deletes its namespace and veth,
// and removes its cgroups; its files go with t.TempDir.
func (h *simHost) stop() {
	if h.docker != nil {
		_ = h.docker.Close()
	}
	if h.cmd != nil && h.cmd.Process != nil {
		// unshare ignores SIGTERM; SIGKILL makes it kill its child, the
		// namespace's init, which ends everything in the namespace.
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-h.done:
		case <-time.After(30 * time.Second):
			h.t.Errorf("simulated host %s did not end within 30s of SIGKILL", h.name)
		}
	}
	// Wait for the namespace's processes to be gone before the netns.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("pgrep", "-f", h.base).Output()
		if strings.TrimSpace(string(out)) == "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = exec.Command("ip", "netns", "del", h.name).Run()
	_ = exec.Command("ip", "link", "del", h.veth).Run()
	for _, ctrl := range []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified"} {
		removeCgroup(filepath.Join("/sys/fs/cgroup", ctrl, fmt.Sprintf("bgfleet-%d", h.index)))
	}
}

// removeCgroup removes a cgroup directory and the empty ones below it.
func removeCgroup(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeCgroup(filepath.Join(dir, e.Name()))
		}
	}
	_ = syscall.Rmdir(dir)
}

// write puts a file into the host's /run (its tmpfs), through its init's
// view of the file system.
func (h *simHost) write(t testing.TB, path, content string) {
	t.Helper()
	full := filepath.Join("/proc", strconv.Itoa(h.initPID(t)), "root", path)
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
}

// initPID is the namespace's init, the unshare process's child.
func (h *simHost) initPID(t testing.TB) int {
	t.Helper()
	out, err := exec.Command("pgrep", "-P", strconv.Itoa(h.cmd.Process.Pid)).Output()
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.Fields(string(out))[0])
	require.NoError(t, err)
	return pid
}

// get fetches path from the host's own nginx on :80.
func (h *simHost) get(path string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + h.ip + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// loadImage copies an image of this machine's daemon into the host's.
func (h *simHost) loadImage(t testing.TB, ref string) {
	t.Helper()
	local := testenv.RequireDocker(t)
	rc, err := local.ImageSave(context.Background(), []string{ref})
	require.NoError(t, err)
	defer rc.Close()
	resp, err := h.docker.ImageLoad(context.Background(), rc)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_, err = h.docker.ImageInspect(context.Background(), ref)
	require.NoError(t, err, "the image %s is on host %s", ref, h.name)
}

// restartDockerd kills the host's dockerd with SIGKILL, as a crash or an
// OOM kill does (its containerd goes with it; the containers' shims stay),
// keeps it down for down, then starts it again with the same settings,
// and returns once the new daemon answers. The helpers it ran die with
// it: without live-restore the new daemon kills what still runs, and
// starts again only containers with a restart policy.
func (h *simHost) restartDockerd(t testing.TB, down time.Duration) {
	t.Helper()
	in := func(args ...string) *exec.Cmd {
		return exec.Command("nsenter", append([]string{"-t", strconv.Itoa(h.initPID(t)), "-m", "-n", "-p", "--"}, args...)...)
	}
	out, err := in("sh", "-c", `pid=$(cat /run/docker.pid) && kill -9 $pid && i=0 && while kill -0 $pid 2>/dev/null; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done`).CombinedOutput()
	require.NoError(t, err, "killing the dockerd of %s: %s", h.name, out)
	time.Sleep(down)
	out, err = in("sh", filepath.Join(h.base, "dockerd.sh")).CombinedOutput()
	require.NoError(t, err, "starting the dockerd of %s again: %s", h.name, out)
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, perr := h.docker.Ping(ctx)
		cancel()
		if perr == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dockerd of %s did not answer within 90s of its restart (%v):\n%s", h.name, perr, h.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

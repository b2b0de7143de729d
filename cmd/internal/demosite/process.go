package demosite

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// Run is one deploy run as its own process.
type Run struct {
	Code int
	Wall time.Duration
	// MaxRSS is the process's own peak resident set size, in bytes: the
	// kernel's VmHWM, read every few milliseconds until it exits.
	// (getrusage's ru_maxrss of a child would count the largest of its
	// own children too: nginx -t, which the deploy runs, is larger.)
	MaxRSS int64
}

// BuildAction builds the action's binary into dir the way the Dockerfile
// does (static, -trimpath, -ldflags="-s -w") and returns its path.
func BuildAction(dir string) (string, error) {
	wd, _ := os.Getwd()
	root, err := throwaway.RepoRoot(wd)
	if err != nil {
		return "", fmt.Errorf("run this from inside the bluegreen repository: %w", err)
	}
	bin := filepath.Join(dir, "bluegreen")
	if err := throwaway.GoBuild(root, ".", bin); err != nil {
		return "", err
	}
	return bin, nil
}

// DeployProcess is Deploy by the action's binary bin in a process of its
// own, as the runner starts it, so that its memory is its own: it
// returns the exit code, the wall time and the peak RSS.
func (s *Site) DeployProcess(ctx context.Context, bin string, inputs map[string]string, env map[string]string, out io.Writer) (Run, error) {
	extra := []string{"APP_IMAGE=" + s.Image, "BLUEGREEN_LOCK_DIR=" + s.lockDir, "BLUEGREEN_STATE_DIR=" + filepath.Join(s.Dir, "state")}
	for k, v := range env {
		extra = append(extra, k+"="+v)
	}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = throwaway.Environ(s.Inputs, inputs, extra...)
	cmd.Dir = filepath.Join(s.Dir, "work")
	cmd.Stdout, cmd.Stderr = out, out
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return Run{}, fmt.Errorf("failed to run %s: %w", bin, err)
	}
	peak := make(chan int64, 1)
	done := make(chan struct{})
	go func() { peak <- watchHWM(cmd.Process.Pid, done) }()
	_ = cmd.Wait()
	close(done)
	run := Run{Wall: time.Since(began), Code: cmd.ProcessState.ExitCode(), MaxRSS: <-peak}
	return run, nil
}

// watchHWM reads the process's VmHWM every 2 ms until done and returns
// the last value read. The kernel keeps VmHWM at the highest RSS so far,
// so the last read misses at most the final 2 ms of the process.
func watchHWM(pid int, done <-chan struct{}) int64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	var last int64
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			if v := vmHWM(string(b)); v > 0 {
				last = v
			}
		}
		select {
		case <-done:
			return last
		case <-t.C:
		}
	}
}

// vmHWM parses "VmHWM:   21504 kB" out of /proc/<pid>/status, in bytes.
func vmHWM(status string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// proc is a command a test started (act, docker run, the bluegreen
// binary): its output goes to the test log, is kept whole, and is offered
// line by line to waitFor.
type proc struct {
	t     testing.TB
	what  string // for messages: "act", "docker run", ...
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   bytes.Buffer
	lines chan string
	done  chan struct{}
	code  int
}

// startProc starts cmd with stdout and stderr combined.
func startProc(t testing.TB, what string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{t: t, what: what, cmd: cmd, lines: make(chan string, 1000), done: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			t.Log(line)
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- line:
			default:
			}
		}
		err := cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
	}()
	return p
}

// wait waits for the command to end and returns its exit code and output.
func (p *proc) wait(timeout time.Duration) (int, string) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("%s did not end within %s", p.what, timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code, p.out.String()
}

// waitFor waits for an output line containing s.
func (p *proc) waitFor(s string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line := <-p.lines:
			if strings.Contains(line, s) {
				return
			}
		case <-p.done:
			p.t.Fatalf("%s ended before printing %q", p.what, s)
		case <-deadline:
			p.t.Fatalf("%s did not print %q within %s", p.what, s, timeout)
		}
	}
}

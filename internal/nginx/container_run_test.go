package nginx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

// fakeExecDocker is the Engine API's exec as a container answers it: the
// command's output and exit code, or Docker's refusal at each step.
type fakeExecDocker struct {
	stdout, stderr string
	exitCode       int
	runningPolls   int // inspects that still say Running before the exit code
	createErr      error
	attachErr      error
	inspectErr     error
	killErr        error

	mu     sync.Mutex
	cmds   [][]string
	opts   []container.ExecOptions
	kills  []string
	polled int
}

func (f *fakeExecDocker) ContainerInspect(context.Context, string) (container.InspectResponse, error) {
	return container.InspectResponse{}, errors.New("not used")
}

func (f *fakeExecDocker) ContainerExecCreate(_ context.Context, id string, o container.ExecOptions) (container.ExecCreateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opts = append(f.opts, o)
	f.cmds = append(f.cmds, o.Cmd)
	if f.createErr != nil {
		return container.ExecCreateResponse{}, f.createErr
	}
	return container.ExecCreateResponse{ID: "exec-1"}, nil
}

func (f *fakeExecDocker) ContainerExecAttach(_ context.Context, execID string, _ container.ExecAttachOptions) (types.HijackedResponse, error) {
	if f.attachErr != nil {
		return types.HijackedResponse{}, f.attachErr
	}
	var b bytes.Buffer
	_, _ = stdcopy.NewStdWriter(&b, stdcopy.Stdout).Write([]byte(f.stdout))
	_, _ = stdcopy.NewStdWriter(&b, stdcopy.Stderr).Write([]byte(f.stderr))
	conn, peer := net.Pipe()
	_ = peer.Close()
	return types.HijackedResponse{Conn: conn, Reader: bufio.NewReader(&b)}, nil
}

func (f *fakeExecDocker) ContainerExecInspect(context.Context, string) (container.ExecInspect, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polled++
	if f.inspectErr != nil {
		return container.ExecInspect{}, f.inspectErr
	}
	if f.polled <= f.runningPolls {
		return container.ExecInspect{Running: true}, nil
	}
	return container.ExecInspect{ExitCode: f.exitCode}, nil
}

func (f *fakeExecDocker) ContainerKill(_ context.Context, id, signal string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kills = append(f.kills, id+" "+signal)
	return f.killErr
}

// execContainer is a Container on the fake, whose first process (pid 7)
// has the title first.
func execContainer(t *testing.T, docker *fakeExecDocker, first string) (*Container, *[]string) {
	t.Helper()
	procfs := newFakeProcfs(t)
	if first != "" {
		procfs.add(7, 0, 100, first)
	}
	var warnings []string
	return &Container{Docker: docker, ID: "c0ffee", Name: "web-nginx", PID: 7, Procfs: procfs.root,
		Warnf: func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }}, &warnings
}

const masterFirst = "nginx: master process nginx -g daemon off;"

// TestContainerRun: a command runs through exec with its output; a command
// that fails is an *execx.Error with its exit code and output.
func TestContainerRun(t *testing.T) {
	t.Parallel()
	d := &fakeExecDocker{stdout: "nginx: configuration file /etc/nginx/nginx.conf test is successful\n", runningPolls: 2}
	c, warnings := execContainer(t, d, masterFirst)
	res, err := c.Run(context.Background(), []string{"nginx", "-t"})
	require.NoError(t, err)
	assert.Contains(t, res.Stdout, "test is successful")
	assert.Equal(t, [][]string{{"nginx", "-t"}}, d.cmds)
	assert.True(t, d.opts[0].AttachStdout && d.opts[0].AttachStderr, "the output is attached")
	assert.Equal(t, 3, d.polled, "the exit code is read once the exec stops running")
	assert.Empty(t, *warnings)

	d = &fakeExecDocker{stderr: "nginx: [emerg] unknown directive \"sett\"\n", exitCode: 1}
	c, _ = execContainer(t, d, masterFirst)
	_, err = c.Run(context.Background(), []string{"nginx", "-t"})
	var xe *execx.Error
	require.ErrorAs(t, err, &xe)
	assert.Equal(t, 1, xe.ExitCode)
	assert.Equal(t, []string{"docker", "exec", "web-nginx", "nginx", "-t"}, xe.Args)
	assert.Contains(t, xe.Output, "unknown directive")
	assert.NotErrorIs(t, err, ErrExecImpossible)
	assert.Empty(t, d.kills)
}

// TestContainerRunCannotExec: where Docker cannot start the command, a
// reload becomes a SIGHUP to the container and a config test is skipped
// with a warning, but only when the container's first process is the nginx
// master; anything else fails, saying why.
func TestContainerRunCannotExec(t *testing.T) {
	t.Parallel()
	reload := []string{"nginx", "-s", "reload"}
	test := []string{"nginx", "-t"}
	notStarted := &fakeExecDocker{exitCode: 127, stdout: `OCI runtime exec failed: exec failed: unable to start container process: exec: "nginx": executable file not found in $PATH: unknown`}
	forbidden := func() *fakeExecDocker { return &fakeExecDocker{createErr: errors.New("exec is disabled by policy")} }
	tests := []struct {
		name     string
		docker   *fakeExecDocker
		first    string
		args     []string
		stdout   string
		warning  string
		kills    []string
		errIs    error
		errParts []string
	}{
		{"reload by SIGHUP", notStarted, masterFirst, reload, "sent SIGHUP to container web-nginx", "sent SIGHUP to its nginx master instead", []string{"c0ffee HUP"}, nil, nil},
		{"exec refused: reload by SIGHUP", forbidden(), masterFirst, reload, "sent SIGHUP to container web-nginx", "exec is disabled by policy", []string{"c0ffee HUP"}, nil, nil},
		{"test skipped", forbidden(), masterFirst, test, "skipped: cannot exec in container web-nginx", "skipping the config test", nil, nil, nil},
		{"no SIGHUP to a shell", forbidden(), "/bin/sh -c nginx", reload, "", "", nil, ErrExecImpossible,
			[]string{"SIGHUP is no way out either", `first process is "/bin/sh -c nginx", not the nginx master`}},
		{"no SIGHUP to an invisible process", forbidden(), "", reload, "", "", nil, ErrExecImpossible,
			[]string{"SIGHUP is no way out either", "is not visible in", "--pid host"}},
		{"no test skipped with a shell first", forbidden(), "/bin/sh -c nginx", test, "", "", nil, ErrExecImpossible,
			[]string{"the config cannot be tested, and the reload could not be confirmed either"}},
		{"SIGHUP fails", &fakeExecDocker{createErr: errors.New("exec is disabled by policy"), killErr: errors.New("container is paused")}, masterFirst, reload, "", "", []string{"c0ffee HUP"}, ErrExecImpossible,
			[]string{"sending SIGHUP failed too: container is paused"}},
		{"other commands fail", forbidden(), masterFirst, []string{"nginx", "-V"}, "", "", nil, ErrExecImpossible, []string{"exec is disabled by policy"}},
		{"a missing container is no reason for SIGHUP", &fakeExecDocker{createErr: cerrdefs.ErrNotFound.WithMessage("no such container")}, masterFirst, reload, "", "", nil, nil,
			[]string{"failed to exec in nginx container web-nginx", "no such container"}},
		{"attach fails", &fakeExecDocker{attachErr: errors.New("hijack failed")}, masterFirst, reload, "", "", nil, nil, []string{"failed to start exec in nginx container web-nginx: hijack failed"}},
		{"exit code unreadable", &fakeExecDocker{inspectErr: errors.New("daemon gone")}, masterFirst, reload, "", "", nil, nil, []string{"failed to read the exit code of exec in nginx container web-nginx: daemon gone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.docker
			d.mu.Lock()
			d.kills, d.polled = nil, 0
			d.mu.Unlock()
			c, warnings := execContainer(t, d, tt.first)
			res, err := c.Run(context.Background(), tt.args)
			assert.Equal(t, tt.kills, d.kills)
			if tt.errParts == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.stdout, res.Stdout)
				require.Len(t, *warnings, 1)
				assert.Contains(t, (*warnings)[0], tt.warning)
				return
			}
			var xe *execx.Error
			require.ErrorAs(t, err, &xe)
			assert.Equal(t, -1, xe.ExitCode)
			if tt.errIs != nil {
				assert.ErrorIs(t, err, tt.errIs)
			} else {
				assert.NotErrorIs(t, err, ErrExecImpossible)
			}
			for _, p := range tt.errParts {
				assert.Contains(t, err.Error(), p)
			}
			assert.Empty(t, *warnings)
		})
	}
}

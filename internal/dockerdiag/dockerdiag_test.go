package dockerdiag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// errConnect stands in for the client's errConnectionFailed, which says
// "Cannot connect…" and keeps no cause.
var errConnect = errors.New("Cannot connect to the Docker daemon. Is the docker daemon running?")

func TestUnreachable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dead := filepath.Join(dir, "dead.sock")
	l, err := net.Listen("unix", dead)
	require.NoError(t, err)
	// Closing a unix listener removes its file; a daemon killed with -9
	// leaves it, which is the case to explain.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, l.Close())
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, nil, 0o644))
	missing := filepath.Join(dir, "missing.sock")
	denied := fmt.Errorf("permission denied while trying to connect to the Docker daemon socket: %w", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EACCES)})

	for _, tt := range []struct {
		name    string
		host    string
		fromEnv bool
		err     error
		want    []string
	}{
		{"default socket missing", "unix://" + missing, false, errConnect,
			[]string{"(DOCKER_HOST is unset, so the default)", "there is no socket at " + missing, "systemctl start docker", "set DOCKER_HOST"}},
		{"DOCKER_HOST socket missing", "unix://" + missing, true, errConnect,
			[]string{"(from DOCKER_HOST)", "there is no socket at " + missing, "fix DOCKER_HOST, or unset it to use unix:///var/run/docker.sock"}},
		{"permission denied", "unix:///var/run/docker.sock", false, denied,
			[]string{"may not use /var/run/docker.sock", "usermod -aG docker", "restart the runner service", "root-equivalent"}},
		{"stale socket", "unix://" + dead, true, errConnect,
			[]string{"the socket " + dead + " exists but no daemon answers"}},
		{"not a socket", "unix://" + plain, true, errConnect,
			[]string{plain + " is not a socket"}},
		{"tcp", "tcp://10.0.0.5:2376", true, errConnect,
			[]string{"nothing answered at 10.0.0.5:2376", "DOCKER_TLS_VERIFY"}},
		{"timeout", "unix:///var/run/docker.sock", false, context.DeadlineExceeded,
			[]string{"did not answer in time"}},
		{"odd scheme", "npipe:////./pipe/docker_engine", true, errConnect,
			[]string{`scheme "npipe" is not supported`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg := Unreachable(tt.host, tt.fromEnv, "", tt.err).Error()
			require.Contains(t, msg, "failed to reach the Docker daemon at "+tt.host)
			for _, w := range tt.want {
				require.Contains(t, msg, w)
			}
			if tt.host != Default {
				require.NotContains(t, msg, "at "+Default, "the message names the daemon in use, not the default")
			}
		})
	}
}

func TestUnreachableKeepsCause(t *testing.T) {
	t.Parallel()
	err := Unreachable(Default, false, "from the action container", context.DeadlineExceeded)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "(DOCKER_HOST is unset, so the default) from the action container: ")
}

func TestHost(t *testing.T) {
	t.Parallel()
	require.Equal(t, Default, Host(""))
	require.Equal(t, "tcp://h:2375", Host("tcp://h:2375"))
}

// TestUnanswered tells a daemon that did not answer (which says nothing
// of its settings and may answer again) from one that answered no.
func TestUnanswered(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.Canceled, false},
		{errors.New("Error response from daemon: invalid mount config for type \"bind\": bind source path does not exist"), false},
		{errors.New("Error response from daemon: cannot share the host's user namespace when user namespaces are enabled"), false},
		{refused, true},
		{fmt.Errorf("failed to wait for the helper container x: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("wait: %w", io.EOF), true},
		{errors.New(`error during connect: Post "http://%2Fvar%2Frun%2Fdocker.sock/v1.41/containers/create": ssh: rejected: connect failed (open failed)`), true},
		{errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"), true},
		{errors.New("read tcp 10.0.0.1:5555->10.0.0.2:2376: read: connection reset by peer"), true},
	} {
		require.Equal(t, tt.want, Unanswered(tt.err), "%v", tt.err)
	}
}

package dockerdiag

import (
	"context"
	"errors"
	"fmt"
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

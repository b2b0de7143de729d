package hosthelper

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"
)

// TestHelperRunUnansweredHasNoDaemonHint: a daemon that does not answer
// at all (stopped, restarting) says nothing about its settings, so the
// error gets no rootless or userns-remap hint, and says it did not
// answer; nothing was started.
func TestHelperRunUnansweredHasNoDaemonHint(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	// A daemon killed with -9 leaves its socket: connections are refused.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, l.Close())
	docker, err := client.NewClientWithOpts(client.WithHost("unix://"+sock), client.WithVersion("1.41"))
	require.NoError(t, err)
	defer docker.Close()
	h := &Helper{Docker: docker, Name: "bluegreen-test", Image: "bluegreen-helper:x", Exe: "/bluegreen", Out: io.Discard}
	_, err = h.Run(context.Background())
	require.ErrorContains(t, err, "failed to create the helper container bluegreen-test: the Docker daemon did not answer")
	require.NotContains(t, err.Error(), "rootless")
	require.NotContains(t, err.Error(), "userns-remap")
	require.False(t, h.Started())
}

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDockerUnreachableNamesDockerHost: with DOCKER_HOST pointing at a
// socket that does not exist, the error names that socket and how to fix
// DOCKER_HOST, not the default /var/run/docker.sock.
func TestDockerUnreachableNamesDockerHost(t *testing.T) {
	t.Parallel()
	ws := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(ws, "docker-compose.yml"), []byte("services: {}\n"), 0o644))
	sock := filepath.Join(t.TempDir(), "docker.sock")
	var out bytes.Buffer
	code := Main(context.Background(), Options{
		Environ: []string{"GITHUB_WORKSPACE=" + ws, "DOCKER_HOST=unix://" + sock, "BLUEGREEN_HOIST=off"},
		Cwd:     ws,
		Stdout:  &out,
	})
	require.Equal(t, ExitFailed, code)
	require.Contains(t, out.String(), "failed to reach the Docker daemon at unix://"+sock+" (from DOCKER_HOST)")
	require.Contains(t, out.String(), "there is no socket at "+sock+": fix DOCKER_HOST")
	require.NotContains(t, out.String(), "/var/run/docker.sock)")
}

package nginx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostPathSaysWhyTheDirectoryIsMissing: when the include's directory
// is not there on this host, the error says what is there instead: nothing
// (the system's error), or a file.
func TestHostPathSaysWhyTheDirectoryIsMissing(t *testing.T) {
	t.Parallel()
	host := t.TempDir()
	file := filepath.Join(host, "conf.d")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	for _, tt := range []struct{ source, want string }{
		{file, "does not exist here: the deploy must run on the Docker host (a self-hosted runner on the host that runs nginx): not a directory"},
		{filepath.Join(host, "missing"), "no such file or directory"},
	} {
		// The mount is of the parent: its conf.d is the include's directory.
		c := &Container{Name: "web-nginx", Mounts: []container.MountPoint{{Type: mount.TypeBind, Source: filepath.Dir(tt.source), Destination: "/etc/nginx"}}}
		if tt.source != file {
			c.Mounts[0].Source = tt.source
		}
		_, err := c.HostPath("/etc/nginx/conf.d/service-url.inc")
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.want)
		assert.NotContains(t, err.Error(), "%!w")
	}
}

// TestIsReloadWithTrailingS: "-s" as the last argument names no signal;
// it is not a reload (and reading past it does not panic).
func TestIsReloadWithTrailingS(t *testing.T) {
	t.Parallel()
	assert.False(t, isReload([]string{"nginx", "-s"}))
	assert.True(t, isReload([]string{"nginx", "-s", "reload"}))
}

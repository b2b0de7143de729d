//go:build e2e

package nginx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// TestWorkerShutdownTimeoutSetRealNginx dumps real configs with nginx -T;
// worker_shutdown_timeout is a main-context directive, so the configs are
// written here rather than by testenv.StartNginx.
func TestWorkerShutdownTimeoutSetRealNginx(t *testing.T) {
	t.Parallel()
	bin := testenv.RequireNginx(t)
	for _, tt := range []struct {
		directive string
		want      bool
	}{{"worker_shutdown_timeout 10s;", true}, {"", false}} {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o755))
		conf := filepath.Join(dir, "nginx.conf")
		require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(
			"pid %s/nginx.pid;\nerror_log %s/logs/error.log;\n%s\nevents {}\nhttp { access_log off; }\n", dir, dir, tt.directive)), 0o644))
		got, err := WorkerShutdownTimeoutSet(context.Background(), nil, []string{bin, "-p", dir, "-c", conf, "-t"})
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "config with %q", tt.directive)
	}
}

package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// TestTrafficTarget: the deploy gets nginx's evidence beside the include
// and a page writer that writes where this process sees the include's
// directory and answers the path as nginx names it.
func TestTrafficTarget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sw := &nginx.Switcher{IncludePath: filepath.Join(dir, "service-url.inc")}
	cfg := &config.Config{Nginx: config.Nginx{IncludePath: "/etc/nginx/conf.d/service-url.inc"}}
	var target deploy.Target
	trafficTarget(context.Background(), nil, cfg, Options{}, sw, &target)

	ev, ok := target.Evidence.(*nginx.EvidenceFiles)
	require.True(t, ok)
	assert.Equal(t, "/etc/nginx/conf.d/service-url.inc", ev.IncludePath)
	assert.Same(t, sw, ev.Switcher)

	path, err := target.WritePage([]byte("<h1>back soon</h1>"))
	require.NoError(t, err)
	assert.Equal(t, "/etc/nginx/conf.d/service-url.inc.maintenance.html", path)
	page, err := os.ReadFile(filepath.Join(dir, "service-url.inc.maintenance.html"))
	require.NoError(t, err)
	assert.Equal(t, "<h1>back soon</h1>", string(page))
}

package deploy

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// TestRealAppsPassPreflightWithTheInput: the shared-services input alone,
// without the second compose file, declares a real app's database, so the
// official file deploys with no file of the user's at all.
func TestRealAppsPassPreflightWithTheInput(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "compose-apps", "listmonk"))
	require.NoError(t, err)
	inputs := map[string]string{
		"INPUT_PROJECT-NAME":       "app",
		"INPUT_BLUE-PORT":          "8081",
		"INPUT_GREEN-PORT":         "8082",
		"INPUT_COMPOSE-FILE":       "docker-compose.yml",
		"INPUT_SHARED-SERVICES":    "db",
		"INPUT_NGINX-INCLUDE-PATH": filepath.Join(t.TempDir(), "service-url.inc"),
	}
	cfg, err := config.Parse(func(k string) string { return inputs[k] }, dir)
	require.NoError(t, err)
	d := &Deployer{Config: cfg, Report: report.New(&bytes.Buffer{}, func(string) string { return "" })}
	r := &run{d: d, cfg: cfg, res: &Result{DeployID: "check"}}
	require.NoError(t, r.checkFiles())
	for _, p := range r.plans {
		require.NotNil(t, p.Shared)
		require.Equal(t, []string{"db"}, p.Shared.ServiceNames())
		require.Equal(t, compose.Shared, p.Roles.Of("db"))
	}
}

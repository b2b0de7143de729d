package deploy

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// TestRealAppsPassPreflight holds issue 17's promise: compose files laid
// out as six real projects' official ones (testdata/compose-apps) load
// and pass the deploy's preflight with both colors, with nothing added but
// a second file declaring the shared services. The web service's fixed
// host port moves to the color's port, a colored container_name becomes
// the color's own, and the shared database keeps its container_name and
// host port: each said in the log.
func TestRealAppsPassPreflight(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", "..", "testdata", "compose-apps"))
	require.NoError(t, err)
	apps := []struct {
		dir, file, traffic string
		notes              []string
	}{
		{"umami", "docker-compose.yml", "umami", []string{"service umami publishes 3000:3000 in the compose file; blue publishes container port 3000 on 0.0.0.0:8081 instead (blue-port)"}},
		{"n8n", "docker-compose.yml", "n8n", []string{"service n8n publishes 5678:5678"}},
		{"formbricks", "docker-compose.yml", "formbricks", []string{"service formbricks publishes 3000:3000"}},
		{"healthchecks/docker", "docker-compose.yml", "web", []string{"service web publishes 8000:8000"}},
		{"listmonk", "docker-compose.yml", "app", []string{"service app publishes 9000:9000", `service app sets container_name "listmonk_app"; green names it "listmonk_app-green"`}},
		{"ghost", "stack.yml", "ghost", []string{"service ghost publishes 8080:2368 in the compose file; green publishes container port 2368 on 0.0.0.0:8082"}},
	}
	for _, app := range apps {
		t.Run(app.dir, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(root, app.dir)
			inputs := map[string]string{
				"INPUT_PROJECT-NAME":       "app",
				"INPUT_BLUE-PORT":          "8081",
				"INPUT_GREEN-PORT":         "8082",
				"INPUT_COMPOSE-FILE":       app.file + "\nbluegreen.yml",
				"INPUT_NGINX-INCLUDE-PATH": filepath.Join(t.TempDir(), "service-url.inc"),
			}
			cfg, err := config.Parse(func(k string) string { return inputs[k] }, dir)
			require.NoError(t, err)
			var log bytes.Buffer
			d := &Deployer{Config: cfg, Report: report.New(&log, func(string) string { return "" })}
			r := &run{d: d, cfg: cfg, res: &Result{DeployID: "check"}}
			require.NoError(t, r.checkFiles(), "preflight of %s", app.dir)
			out := log.String()
			for _, note := range app.notes {
				assert.Contains(t, out, note)
			}
			for _, c := range r.plans {
				assert.Equal(t, app.traffic, c.Service)
				require.NotNil(t, c.Shared, "the shared project")
				assert.Len(t, c.Shared.Services, 1, "one shared service")
			}
		})
	}
}

// TestRealAppsWithoutDeclarationsSayWhatToDo holds the other side: the
// same files without the declaration are refused before anything is
// touched, every problem at once, naming the database and both ways out.
func TestRealAppsWithoutDeclarationsSayWhatToDo(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "compose-apps", "listmonk"))
	require.NoError(t, err)
	inputs := map[string]string{
		"INPUT_PROJECT-NAME":       "app",
		"INPUT_BLUE-PORT":          "8081",
		"INPUT_GREEN-PORT":         "8082",
		"INPUT_COMPOSE-FILE":       "docker-compose.yml",
		"INPUT_NGINX-INCLUDE-PATH": filepath.Join(t.TempDir(), "service-url.inc"),
	}
	cfg, err := config.Parse(func(k string) string { return inputs[k] }, dir)
	require.NoError(t, err)
	d := &Deployer{Config: cfg, Report: report.New(&bytes.Buffer{}, func(string) string { return "" })}
	problems := strings.Join(d.Check(), "\n")
	assert.Contains(t, problems, `service "db": volumes: the service mounts the named volume "listmonk-data", and its role is not declared`)
	assert.Contains(t, problems, "Make it shared")
	assert.Contains(t, problems, "mark it colored")
	// The database's container_name and host port collide across the
	// colors as long as it is colored: said in the same run.
	assert.Contains(t, problems, `service db publishes host port :9432/tcp in both colors`)
}

package fleet

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

// TestCollectFiles: what a compose file names inside working-directory
// travels; what is outside stays a host path, or is refused when it is a
// relative path that climbs out.
func TestCollectFiles(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"docker-compose.blue.yml": `include:
  - db/compose.yml
services:
  web:
    image: app
    env_file:
      - app.env
      - path: ${COLOR_ENV}
        required: false
      - /etc/app/host.env
    volumes:
      - ./conf:/etc/app:ro
      - data:/var/lib/app
      - type: bind
        source: ./static/index.html
        target: /srv/index.html
    extends:
      file: base.yml
      service: base
configs:
  app: {file: ./app.conf}
`,
		"docker-compose.green.yml": "services:\n  web:\n    image: app\n    env_file: ${BLUEGREEN_COLOR}.env\n",
		"green.env":                "X=1\n",
		"blue.env":                 "X=2\n",
		"app.env":                  "A=1\n",
		"conf/app.yml":             "a: 1\n",
		"conf/sub/b.yml":           "b: 2\n",
		"static/index.html":        "<p>hi</p>\n",
		"base.yml":                 "services:\n  base:\n    env_file: base.env\n",
		"base.env":                 "B=1\n",
		"app.conf":                 "conf\n",
		"db/compose.yml":           "services:\n  db:\n    image: postgres\n    env_file: db.env\n",
		"db/db.env":                "P=1\n",
		".env":                     "TAG=1\n",
		"unrelated/big.bin":        "not shipped\n",
	})
	cfg := &config.Config{
		WorkDir: dir,
		Files: map[color.Color][]string{
			color.Blue:  {filepath.Join(dir, "docker-compose.blue.yml")},
			color.Green: {filepath.Join(dir, "docker-compose.green.yml")},
		},
		Ports: map[color.Color]int{color.Blue: 8081, color.Green: 8082},
	}
	b, err := CollectFiles(cfg, map[string]string{"COLOR_ENV": "blue.env"})
	require.NoError(t, err)
	var paths []string
	for _, f := range b.Files {
		paths = append(paths, f.Path)
	}
	require.Equal(t, []string{
		".env", "app.conf", "app.env", "base.env", "base.yml", "blue.env", "conf/app.yml", "conf/sub/b.yml",
		"db/compose.yml", "db/db.env", "docker-compose.blue.yml", "docker-compose.green.yml", "green.env", "static/index.html",
	}, paths)
	require.Equal(t, []string{"docker-compose.blue.yml"}, b.Compose[color.Blue])
	require.Equal(t, []string{"docker-compose.green.yml"}, b.Compose[color.Green])
	require.Empty(t, b.EnvFile)
}

func TestCollectFilesRefusesRelativePathsOutside(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"app/docker-compose.yml": "services:\n  web:\n    image: app\n    env_file: ../shared/app.env\n",
		"shared/app.env":         "A=1\n",
	})
	dir := filepath.Join(root, "app")
	cfg := &config.Config{WorkDir: dir, SingleFile: true,
		Files: map[color.Color][]string{color.Blue: {filepath.Join(dir, "docker-compose.yml")}, color.Green: {filepath.Join(dir, "docker-compose.yml")}},
		Ports: map[color.Color]int{color.Blue: 8081, color.Green: 8082}}
	_, err := CollectFiles(cfg, nil)
	require.ErrorIs(t, err, config.ErrInvalid)
	require.ErrorContains(t, err, "names env_file ../shared/app.env, outside working-directory")
}

func TestHostEnv(t *testing.T) {
	t.Parallel()
	runner := map[string]string{
		"INPUT_HOSTS":              "ssh://deploy@10.0.1.11",
		"INPUT_SSH-PRIVATE-KEY":    "-----BEGIN OPENSSH PRIVATE KEY-----",
		"INPUT_DOCKER-TLS-KEY":     "tls-key",
		"INPUT_REGISTRY-PASSWORD":  "pw",
		"INPUT_WORKING-DIRECTORY":  "deploy",
		"INPUT_COMPOSE-FILE":       "/github/workspace/deploy/docker-compose.yml",
		"INPUT_HEALTH-PATH":        "/api/health",
		"INPUT_KEEP-PREVIOUS":      "false",
		"GITHUB_ACTIONS":           "true",
		"GITHUB_OUTPUT":            "/github/file_commands/set_output_1",
		"GITHUB_WORKSPACE":         "/github/workspace",
		"GITHUB_SHA":               "abc",
		"ACTIONS_RUNTIME_TOKEN":    "tok",
		"VERSION":                  "v2",
		"DOCKER_HOST":              "unix:///var/run/docker.sock",
		"INPUT_ENV-FILE":           "/github/workspace/deploy/.env.prod",
		"INPUT_NGINX-INCLUDE-PATH": "/etc/nginx/conf.d/service-url.inc",
	}
	cfg := &config.Config{ProjectName: "app", SingleFile: true}
	b := &Bundle{Compose: map[color.Color][]string{color.Blue: {"docker-compose.yml"}, color.Green: {"docker-compose.yml"}}, EnvFile: ".env.prod"}
	env := HostEnv(runner, cfg, b, "/var/lib/bluegreen/app/20260101T000000Z-abcdef", config.ModeRollback)
	require.Equal(t, map[string]string{
		"INPUT_REGISTRY-PASSWORD":  "pw",
		"INPUT_COMPOSE-FILE":       "docker-compose.yml",
		"INPUT_HEALTH-PATH":        "/api/health",
		"INPUT_KEEP-PREVIOUS":      "true",
		"INPUT_MODE":               "rollback",
		"INPUT_PROJECT-NAME":       "app",
		"INPUT_ENV-FILE":           ".env.prod",
		"INPUT_NGINX-INCLUDE-PATH": "/etc/nginx/conf.d/service-url.inc",
		"GITHUB_WORKSPACE":         "/var/lib/bluegreen/app/20260101T000000Z-abcdef",
		"GITHUB_OUTPUT":            "/dev/null",
		"GITHUB_STEP_SUMMARY":      "/dev/null",
		"GITHUB_SHA":               "abc",
		"VERSION":                  "v2",
		"DOCKER_HOST":              "unix:///var/run/docker.sock",
	}, env, "no fleet input (the SSH key least of all), no runner token, no Actions file command reaches a host")
}

package fleet

import (
	"os"
	"path/filepath"
	"strings"
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
		"INPUT_HOSTS":               "ssh://deploy@10.0.1.11",
		"INPUT_SSH-PRIVATE-KEY":     "-----BEGIN OPENSSH PRIVATE KEY-----",
		"INPUT_DOCKER-TLS-KEY":      "tls-key",
		"INPUT_REGISTRY-PASSWORD":   "pw",
		"INPUT_WORKING-DIRECTORY":   "deploy",
		"INPUT_COMPOSE-FILE":        "/github/workspace/deploy/docker-compose.yml",
		"INPUT_HEALTH-PATH":         "/api/health",
		"INPUT_HEALTH-HOST":         "app.example.com",
		"INPUT_HEALTH-HEADERS":      "X-Token: t",
		"INPUT_HEALTH-SCHEME":       "https",
		"INPUT_HEALTH-INSECURE-TLS": "true",
		"INPUT_CANARY-STEPS":        "10,50",
		"INPUT_FLEET-CANARY":        "1",
		"INPUT_KEEP-PREVIOUS":       "false",
		"GITHUB_ACTIONS":            "true",
		"GITHUB_OUTPUT":             "/github/file_commands/set_output_1",
		"GITHUB_WORKSPACE":          "/github/workspace",
		"GITHUB_SHA":                "abc",
		"ACTIONS_RUNTIME_TOKEN":     "tok",
		"VERSION":                   "v2",
		"DOCKER_HOST":               "unix:///var/run/docker.sock",
		"INPUT_ENV-FILE":            "/github/workspace/deploy/.env.prod",
		"INPUT_NGINX-INCLUDE-PATH":  "/etc/nginx/conf.d/service-url.inc",
		"DEPLOY_SSH_KEY":            "a job secret meant for another step",
		"GITHUB_REF_NAME":           "main",
		"GITHUB_RUN_ATTEMPT":        "2",
		"COMPOSE_PROFILES":          "web",
		"BLUEGREEN_STATE_DIR":       "/tmp/state",
	}
	cfg := &config.Config{ProjectName: "app", SingleFile: true}
	b := &Bundle{Compose: map[color.Color][]string{color.Blue: {"docker-compose.yml"}, color.Green: {"docker-compose.yml"}}, EnvFile: ".env.prod",
		Vars: map[string]bool{"VERSION": true, "GITHUB_REF_NAME": true, "ACTIONS_RUNTIME_TOKEN": true, "UNSET": true}}
	env := HostEnv(runner, cfg, b, "/var/lib/bluegreen/app/20260101T000000Z-abcdef", config.ModeRollback)
	require.Equal(t, map[string]string{
		"INPUT_REGISTRY-PASSWORD":   "pw",
		"INPUT_COMPOSE-FILE":        "docker-compose.yml",
		"INPUT_HEALTH-PATH":         "/api/health",
		"INPUT_HEALTH-HOST":         "app.example.com",
		"INPUT_HEALTH-HEADERS":      "X-Token: t",
		"INPUT_HEALTH-SCHEME":       "https",
		"INPUT_HEALTH-INSECURE-TLS": "true",
		"INPUT_CANARY-STEPS":        "10,50",
		"INPUT_KEEP-PREVIOUS":       "true",
		"INPUT_MODE":                "rollback",
		"INPUT_PROJECT-NAME":        "app",
		"INPUT_ENV-FILE":            ".env.prod",
		"INPUT_NGINX-INCLUDE-PATH":  "/etc/nginx/conf.d/service-url.inc",
		"GITHUB_WORKSPACE":          "/var/lib/bluegreen/app/20260101T000000Z-abcdef",
		"GITHUB_OUTPUT":             "/dev/null",
		"GITHUB_STEP_SUMMARY":       "/dev/null",
		"GITHUB_SHA":                "abc",
		"VERSION":                   "v2",
		"GITHUB_REF_NAME":           "main",
		"COMPOSE_PROFILES":          "web",
		"DOCKER_HOST":               "unix:///var/run/docker.sock",
	}, env, "the health options and canary steps go to every host's probes; no fleet input (the SSH key least of all, fleet-canary too), no runner token even when a compose file names it, no Actions file command, no variable the compose files do not name reaches a host")
}

// singleFile is the config of a one-file deploy in dir.
func singleFile(dir string) *config.Config {
	f := filepath.Join(dir, "docker-compose.yml")
	return &config.Config{WorkDir: dir, SingleFile: true,
		Files: map[color.Color][]string{color.Blue: {f}, color.Green: {f}},
		Ports: map[color.Color]int{color.Blue: 8081, color.Green: 8082}}
}

// TestCollectFilesRefusesLinksOut: a path inside working-directory that
// is, or passes through, a symbolic link out of it is refused, whatever
// names it; a link that stays inside is shipped as the file it leads to.
func TestCollectFilesRefusesLinksOut(t *testing.T) {
	t.Parallel()
	outside := writeTree(t, map[string]string{"secret": "ssh-private-key\n", "dir/shadow": "root:x\n"})
	cases := map[string]struct {
		compose string
		links   map[string]string // link → target (relative to outside when it starts with @)
		want    string
	}{
		"a compose secret linked to /proc/self/environ": {
			compose: "services:\n  web:\n    image: app\nsecrets:\n  s:\n    file: ./s.txt\n",
			links:   map[string]string{"s.txt": "/proc/self/environ"},
			want:    "secrets file " + "%s/s.txt is a symbolic link (or passes through one) to /proc/",
		},
		"a link inside a bind-mounted directory": {
			compose: "services:\n  web:\n    image: app\n    volumes:\n      - ./conf:/etc/app\n",
			links:   map[string]string{"conf/shadow": "@secret"},
			want:    "is a symbolic link (or passes through one) to " + outside + "/secret",
		},
		"a bind-mounted directory that is a link": {
			compose: "services:\n  web:\n    image: app\n    volumes:\n      - ./conf:/etc/app\n",
			links:   map[string]string{"conf": "@dir"},
			want:    "bind mount source %s/conf is a symbolic link (or passes through one) to " + outside + "/dir",
		},
		"an env_file under a linked directory": {
			compose: "services:\n  web:\n    image: app\n    env_file: ./etc/shadow\n",
			links:   map[string]string{"etc": "@dir"},
			want:    "env_file %s/etc/shadow is a symbolic link (or passes through one) to " + outside + "/dir/shadow",
		},
		"the compose file itself": {
			links: map[string]string{"docker-compose.yml": "@secret"},
			want:  "compose file %s/docker-compose.yml is a symbolic link",
		},
		"the default .env": {
			compose: "services:\n  web:\n    image: app\n",
			links:   map[string]string{".env": "@secret"},
			want:    "default env file %s/.env is a symbolic link",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"conf/app.yml": "a: 1\n"}
			if c.compose != "" {
				files["docker-compose.yml"] = c.compose
			}
			dir := writeTree(t, files)
			for link, target := range c.links {
				if target[0] == '@' {
					target = filepath.Join(outside, target[1:])
				}
				p := filepath.Join(dir, link)
				require.NoError(t, os.RemoveAll(p))
				require.NoError(t, os.Symlink(target, p))
			}
			_, err := CollectFiles(singleFile(dir), nil)
			require.ErrorIs(t, err, config.ErrInvalid)
			want := c.want
			if strings.Contains(want, "%s") {
				want = strings.ReplaceAll(want, "%s", dir)
			}
			require.ErrorContains(t, err, want)
			require.NotContains(t, err.Error(), "ssh-private-key")
		})
	}

	t.Run("links that stay inside are followed", func(t *testing.T) {
		t.Parallel()
		dir := writeTree(t, map[string]string{
			"docker-compose.yml": "services:\n  web:\n    image: app\n    env_file: current.env\n    volumes:\n      - ./conf:/etc/app\n",
			"v1.env":             "A=1\n",
			"shared/b.yml":       "b: 2\n",
			"conf/a.yml":         "a: 1\n",
		})
		require.NoError(t, os.Symlink("v1.env", filepath.Join(dir, "current.env")))
		require.NoError(t, os.Symlink("../shared", filepath.Join(dir, "conf", "shared")))
		require.NoError(t, os.Symlink("..", filepath.Join(dir, "shared", "loop")))
		_, err := CollectFiles(singleFile(dir), nil)
		require.ErrorContains(t, err, "loops", "a link back up the tree is refused, not walked for ever")
		require.NoError(t, os.Remove(filepath.Join(dir, "shared", "loop")))
		b, err := CollectFiles(singleFile(dir), nil)
		require.NoError(t, err)
		got := map[string]string{}
		for _, f := range b.Files {
			got[f.Path] = string(f.Data)
		}
		require.Equal(t, map[string]string{
			"docker-compose.yml": "services:\n  web:\n    image: app\n    env_file: current.env\n    volumes:\n      - ./conf:/etc/app\n",
			"current.env":        "A=1\n",
			"conf/a.yml":         "a: 1\n",
			"conf/shared/b.yml":  "b: 2\n",
		}, got)
	})
}

// TestCollectFilesModesAndVars: what only the deploy reads (compose and
// env files) travels as 0600; what a container mounts keeps its mode
// without group or other write. The variables the compose and env files
// take from the environment are noted, and only they reach the hosts.
func TestCollectFilesModesAndVars(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"docker-compose.yml": `services:
  web:
    image: app:${APP_TAG:-latest}
    command: ["sh", "-c", "echo $$NOT_A_VAR ${NESTED:-${INNER}}"]
    env_file: app.env
    environment:
      - BARE
      - SET=1
      - LABEL=$PLAIN
    volumes:
      - ./conf:/etc/app
      - ./run.sh:/run.sh
  worker:
    image: app
    environment:
      FROM_ENV:
      FIXED: x
secrets:
  token:
    environment: TOKEN_VAR
# a comment naming $COMMENTED is read too: the file's author wrote it
`,
		"app.env":    "A=${FROM_FILE}\nexport BARE_IN_FILE\n# NOT_IN_COMMENT_LINE\nB=2\n",
		"conf/a.yml": "uses: ${NOT_INTERPOLATED}\n",
		"run.sh":     "#!/bin/sh\n",
	})
	require.NoError(t, os.Chmod(filepath.Join(dir, "conf/a.yml"), 0o666))
	require.NoError(t, os.Chmod(filepath.Join(dir, "run.sh"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(dir, "app.env"), 0o644))
	b, err := CollectFiles(singleFile(dir), nil)
	require.NoError(t, err)
	modes := map[string]os.FileMode{}
	for _, f := range b.Files {
		modes[f.Path] = os.FileMode(f.Mode)
	}
	require.Equal(t, map[string]os.FileMode{
		"docker-compose.yml": 0o600, "app.env": 0o600, "conf/a.yml": 0o644, "run.sh": 0o755,
	}, modes)
	var vars []string
	for v := range b.Vars {
		vars = append(vars, v)
	}
	require.ElementsMatch(t, []string{"APP_TAG", "NESTED", "INNER", "BARE", "PLAIN", "FROM_ENV", "TOKEN_VAR", "COMMENTED", "FROM_FILE", "BARE_IN_FILE"}, vars)
}

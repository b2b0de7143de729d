package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/build"
	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/pull"
)

// workspace makes a directory with the given files and returns it.
func workspace(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("services: {}\n"), 0o644))
	}
	return dir
}

func env(m map[string]string) Getenv {
	return func(k string) string { return m[k] }
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "docker-compose.yml")
	cfg, err := Parse(env(map[string]string{
		"GITHUB_WORKSPACE":         dir,
		"GITHUB_REPOSITORY":        "acme/Spring.Backend",
		"INPUT_NGINX-INCLUDE-PATH": filepath.Join(dir, "service-url.inc"),
	}), "/nonexistent")
	require.NoError(t, err)
	require.Equal(t, ModeDeploy, cfg.Mode)
	require.Equal(t, dir, cfg.WorkDir)
	require.Equal(t, "springbackend", cfg.ProjectName)
	require.Equal(t, "springbackend-green", cfg.ProjectFor(color.Green))
	require.True(t, cfg.SingleFile)
	require.Equal(t, []string{filepath.Join(dir, "docker-compose.yml")}, cfg.Files[color.Blue])
	require.Equal(t, 8081, cfg.Ports[color.Blue])
	require.Equal(t, 8082, cfg.Ports[color.Green])
	require.Equal(t, "127.0.0.1", cfg.UpstreamHost)
	require.Equal(t, "/", cfg.Health.Path)
	require.True(t, cfg.Health.Accept.Contains(200))
	require.False(t, cfg.Health.Accept.Contains(204))
	require.Equal(t, 30, cfg.Health.Retries)
	require.Equal(t, 2*time.Second, cfg.Health.Interval)
	require.Equal(t, 5*time.Second, cfg.Health.Timeout)
	require.Equal(t, []string{"nginx", "-t"}, cfg.Nginx.TestCmd)
	require.Equal(t, []string{"nginx", "-s", "reload"}, cfg.Nginx.ReloadCmd)
	require.Equal(t, 30*time.Second, cfg.DrainTimeout)
	require.Equal(t, pull.Missing, cfg.Pull)
	require.Equal(t, build.Auto, cfg.Build)
}

func TestParseSeedStyle(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "docker-compose.blue.yml", "docker-compose.green.yml", ".env")
	cfg, err := Parse(env(map[string]string{
		"INPUT_BLUE-COMPOSE-FILE":  "docker-compose.blue.yml",
		"INPUT_GREEN-COMPOSE-FILE": "docker-compose.green.yml",
		"INPUT_PROJECT-NAME":       "spring-backend",
		"INPUT_HEALTH-PATH":        "/api/health",
		"INPUT_HEALTH-STATUS":      "200-299, 301",
		"INPUT_HEALTH-INTERVAL":    "1.5",
		"INPUT_STARTUP-DELAY":      "500ms",
		"INPUT_ENV-FILE":           ".env",
		"INPUT_NGINX-TEST-COMMAND": `sudo nginx -t -c "/etc/nginx/my conf"`,
		"INPUT_NGINX-INCLUDE-PATH": filepath.Join(dir, "x.inc"),
	}), dir)
	require.NoError(t, err)
	require.False(t, cfg.SingleFile)
	require.Equal(t, filepath.Join(dir, "docker-compose.green.yml"), cfg.Files[color.Green][0])
	require.Equal(t, "spring-backend-blue", cfg.ProjectFor(color.Blue))
	require.Equal(t, 1500*time.Millisecond, cfg.Health.Interval)
	require.Equal(t, 500*time.Millisecond, cfg.Health.StartupDelay)
	require.True(t, cfg.Health.Accept.Contains(204))
	require.True(t, cfg.Health.Accept.Contains(301))
	require.False(t, cfg.Health.Accept.Contains(302))
	require.Equal(t, "200-299,301", cfg.Health.Accept.String())
	require.Equal(t, filepath.Join(dir, ".env"), cfg.EnvFile)
	require.Equal(t, []string{"sudo", "nginx", "-t", "-c", "/etc/nginx/my conf"}, cfg.Nginx.TestCmd)
}

func TestParseListsEveryProblem(t *testing.T) {
	t.Parallel()
	dir := workspace(t)
	_, err := Parse(env(map[string]string{
		"INPUT_COMPOSE-FILE":       "missing.yml",
		"INPUT_BLUE-PORT":          "9000",
		"INPUT_GREEN-PORT":         "9000",
		"INPUT_HEALTH-INTERVAL":    "soon",
		"INPUT_HEALTH-RETRIES":     "-1",
		"INPUT_HEALTH-STATUS":      "ok",
		"INPUT_HEALTH-PATH":        "health",
		"INPUT_PULL":               "sometimes",
		"INPUT_BUILD":              "sometimes",
		"INPUT_MODE":               "yolo",
		"INPUT_PROJECT-NAME":       "My App",
		"INPUT_NGINX-INCLUDE-PATH": "/nonexistent-dir/x.inc",
		"INPUT_KEEP-PREVIOUS":      "maybe",
		"INPUT_NGINX-TEST-COMMAND": `nginx -t "`,
		"INPUT_REGISTRY-USERNAME":  "bob",
	}), dir)
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	require.ErrorIs(t, err, ErrInvalid)
	want := []string{
		`compose-file "missing.yml" does not exist in "` + dir + `": was the repository checked out (actions/checkout) before this step?`,
		"blue-port and green-port are both 9000",
		`health-interval "soon" is not a duration`,
		`health-retries "-1" is not a positive whole number`,
		`health-status "ok"`,
		`health-path "health" must start with /`,
		`pull "sometimes" is not valid: use one of always, missing, never`,
		`build "sometimes" is not valid: use one of auto, always, never`,
		`mode "yolo" is not valid: use one of deploy, rollback, status`,
		`project-name "My App" is not a valid compose project name`,
		`nginx-include-path "/nonexistent-dir/x.inc": its directory "/nonexistent-dir" does not exist`,
		`keep-previous "maybe" is not a boolean`,
		`nginx-test-command "nginx -t \"" cannot be read as a command`,
		"registry-username and registry-password must be given together",
	}
	require.Len(t, verr.Problems, len(want), strings.Join(verr.Problems, "\n"))
	for _, w := range want {
		require.Contains(t, err.Error(), w)
	}
}

func TestParseComposeFileList(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "a.yml", "b.yml", "c.yml")
	cfg, err := Parse(env(map[string]string{
		"INPUT_COMPOSE-FILE":       "a.yml\nb.yml, c.yml\n",
		"INPUT_NGINX-INCLUDE-PATH": filepath.Join(dir, "x.inc"),
	}), dir)
	require.NoError(t, err)
	require.Len(t, cfg.Files[color.Blue], 3)
	require.Equal(t, cfg.Files[color.Blue], cfg.Files[color.Green])
}

func TestParseOnlyOneColorFile(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"INPUT_BLUE-COMPOSE-FILE", "INPUT_GREEN-COMPOSE-FILE"} {
		// No docker-compose.yml: its absence must not be reported as well.
		dir := workspace(t, "docker-compose.blue.yml")
		_, err := Parse(env(map[string]string{
			in:                         "docker-compose.blue.yml",
			"INPUT_NGINX-INCLUDE-PATH": filepath.Join(dir, "x.inc"),
		}), dir)
		var verr *ValidationError
		require.ErrorAs(t, err, &verr)
		require.Len(t, verr.Problems, 1, err.Error())
		require.Contains(t, verr.Problems[0], "blue-compose-file and green-compose-file must be set together")
	}
}

func TestParseMissingFiles(t *testing.T) {
	t.Parallel()
	checkout := "was the repository checked out (actions/checkout) before this step?"
	tests := []struct {
		name   string
		inputs map[string]string
		want   func(dir string) []string
	}{
		{
			name:   "default compose file",
			inputs: map[string]string{},
			want: func(dir string) []string {
				return []string{`compose-file "docker-compose.yml" does not exist in "` + dir + `"`, checkout}
			},
		},
		{
			name:   "compose file in a subdirectory",
			inputs: map[string]string{"INPUT_COMPOSE-FILE": "deploy/compose.yml"},
			want: func(dir string) []string {
				return []string{`compose-file "deploy/compose.yml" does not exist in "` + filepath.Join(dir, "deploy") + `"`, checkout}
			},
		},
		{
			name:   "color file",
			inputs: map[string]string{"INPUT_BLUE-COMPOSE-FILE": "blue.yml", "INPUT_GREEN-COMPOSE-FILE": "docker-compose.yml"},
			want: func(dir string) []string {
				return []string{`blue-compose-file "blue.yml" does not exist in "` + dir + `"`, checkout}
			},
		},
		{
			name:   "env file",
			inputs: map[string]string{"INPUT_COMPOSE-FILE": "docker-compose.yml", "INPUT_ENV-FILE": ".env.prod"},
			want: func(dir string) []string {
				return []string{`env-file ".env.prod" does not exist in "` + dir + `"`, checkout, "relative paths are read from working-directory"}
			},
		},
		{
			name:   "directory",
			inputs: map[string]string{"INPUT_COMPOSE-FILE": "sub"},
			want: func(dir string) []string {
				return []string{`compose-file "sub" is a directory ("` + filepath.Join(dir, "sub") + `"), not a file`}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := workspace(t)
			if tt.name != "default compose file" && tt.name != "compose file in a subdirectory" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte("services: {}\n"), 0o644))
			}
			require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
			in := map[string]string{"GITHUB_WORKSPACE": dir, "INPUT_NGINX-INCLUDE-PATH": filepath.Join(dir, "x.inc")}
			for k, v := range tt.inputs {
				in[k] = v
			}
			_, err := Parse(env(in), dir)
			var verr *ValidationError
			require.ErrorAs(t, err, &verr)
			require.Len(t, verr.Problems, 1, err.Error())
			for _, w := range tt.want(dir) {
				require.Contains(t, strings.ToLower(verr.Problems[0]), strings.ToLower(w))
			}
		})
	}
}

func TestParseDurationProblems(t *testing.T) {
	t.Parallel()
	syntax := "use Go syntax such as 500ms, 2s or 1m30s, or plain seconds such as 30"
	tests := []struct {
		input, value string
		want         []string // parts of the problem; none means valid
		notWant      string
	}{
		{input: "health-timeout", value: "0", want: []string{`health-timeout "0" must be positive`, "for example 5s"}, notWant: "is not a duration"},
		{input: "health-interval", value: "0s", want: []string{`health-interval "0s" must be positive`, "for example 2s"}, notWant: syntax},
		{input: "health-interval", value: "-2s", want: []string{`health-interval "-2s" must be positive`}},
		{input: "drain-timeout", value: "-1", want: []string{`drain-timeout "-1" must not be negative`, "give 0 or a positive duration (for example 30s)"}, notWant: "is not a duration"},
		{input: "stop-timeout", value: "-5s", want: []string{`stop-timeout "-5s" must not be negative`, "for example 10s"}},
		{input: "startup-delay", value: "-1", want: []string{`startup-delay "-1" must not be negative`, "for example 10s"}},
		{input: "drain-timeout", value: "0"},
		{input: "observe-seconds", value: "1.5"},
		{input: "health-timeout", value: "soon", want: []string{`health-timeout "soon" is not a duration`, syntax}},
		{input: "lock-timeout", value: "NaN", want: []string{`lock-timeout "NaN" is not a duration`}},
		{input: "lock-timeout", value: "1e300", want: []string{`lock-timeout "1e300" is not a duration`}},
	}
	for _, tt := range tests {
		t.Run(tt.input+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			_, got := problems(t, map[string]string{tt.input: tt.value})
			requireProblem(t, got, tt.want...)
			if tt.notWant != "" {
				require.NotContains(t, got[0], tt.notWant)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"30": 30 * time.Second, "1.5": 1500 * time.Millisecond, "250ms": 250 * time.Millisecond, "1m30s": 90 * time.Second, " 2s ": 2 * time.Second,
	} {
		got, err := ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	_, err := ParseDuration("two seconds")
	require.Error(t, err)
}

func TestParseNginxContainerCommands(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "docker-compose.yml")
	tests := []struct {
		name   string
		inputs map[string]string
		want   []string // parts of the one problem; none means valid
	}{
		{name: "defaults in a container", inputs: map[string]string{"INPUT_NGINX-CONTAINER": "web"}},
		{name: "docker exec on the host", inputs: map[string]string{"INPUT_NGINX-TEST-COMMAND": "docker exec web nginx -t"}},
		{
			name:   "docker exec test command",
			inputs: map[string]string{"INPUT_NGINX-CONTAINER": "web", "INPUT_NGINX-TEST-COMMAND": "docker exec web nginx -t"},
			want:   []string{`nginx-test-command "docker exec web nginx -t"`, `inside container "web"`, `leave out the "docker exec …" prefix`, `the default is "nginx -t"`},
		},
		{
			name:   "docker-compose reload command by path",
			inputs: map[string]string{"INPUT_NGINX-CONTAINER": "web", "INPUT_NGINX-RELOAD-COMMAND": "/usr/bin/docker-compose exec web nginx -s reload"},
			want:   []string{`nginx-reload-command "/usr/bin/docker-compose exec web nginx -s reload"`, `the default is "nginx -s reload"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := map[string]string{"INPUT_NGINX-INCLUDE-PATH": "/etc/nginx/conf.d/x.inc"}
			if tt.inputs["INPUT_NGINX-CONTAINER"] == "" {
				in["INPUT_NGINX-INCLUDE-PATH"] = filepath.Join(dir, "x.inc")
			}
			for k, v := range tt.inputs {
				in[k] = v
			}
			_, err := Parse(env(in), dir)
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			var verr *ValidationError
			require.ErrorAs(t, err, &verr)
			require.Len(t, verr.Problems, 1, err.Error())
			for _, w := range tt.want {
				require.Contains(t, verr.Problems[0], w)
			}
		})
	}
}

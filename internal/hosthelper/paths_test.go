package hosthelper

import (
	"strings"
	"testing"

	"github.com/bluegreen-action/bluegreen/internal/config"

	"github.com/stretchr/testify/require"
)

// runnerMounts are the mounts GitHub's runner gives a container action
// (actions/runner, ContainerActionHandler).
var runnerMounts = []Mount{
	{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock"},
	{Type: "bind", Source: "/home/runner/_work/_temp/_github_home", Destination: "/github/home"},
	{Type: "bind", Source: "/home/runner/_work/_temp/_github_workflow", Destination: "/github/workflow"},
	{Type: "bind", Source: "/home/runner/_work/_temp/_runner_file_commands", Destination: "/github/file_commands"},
	{Type: "bind", Source: "/home/runner/_work/app/app", Destination: "/github/workspace"},
}

// actMounts are act's for a docker step run with --bind: the workspace at
// its own host path, the file commands in a volume.
var actMounts = []Mount{
	{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock"},
	{Type: "bind", Source: "/home/me/app", Destination: "/home/me/app"},
	{Type: "volume", Name: "act-deploy-env", Source: "/var/lib/docker/volumes/act-deploy-env/_data", Destination: "/var/run/act"},
	{Type: "volume", Name: "act-toolcache", Source: "/var/lib/docker/volumes/act-toolcache/_data", Destination: "/opt/hostedtoolcache"},
}

func TestHostPath(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
		mounts         []Mount
		ok             bool
	}{
		{"workspace itself", "/github/workspace", "/home/runner/_work/app/app", runnerMounts, true},
		{"file in workspace", "/github/workspace/deploy/compose.yml", "/home/runner/_work/app/app/deploy/compose.yml", runnerMounts, true},
		{"file command", "/github/file_commands/set_output_1a2b", "/home/runner/_work/_temp/_runner_file_commands/set_output_1a2b", runnerMounts, true},
		{"cleaned", "/github/workspace/./a/../b", "/home/runner/_work/app/app/b", runnerMounts, true},
		{"prefix is not a parent", "/github/workspace2/x", "", runnerMounts, false},
		{"container's own file", "/etc/nginx/conf.d/service-url.inc", "", runnerMounts, false},
		{"relative", "github/workspace", "", runnerMounts, false},
		{"socket", "/var/run/docker.sock", "/var/run/docker.sock", runnerMounts, true},
		{"act bind is the same path", "/home/me/app/docker-compose.yml", "/home/me/app/docker-compose.yml", actMounts, true},
		{"act file command in a volume", "/var/run/act/workflow/outputcmd.txt", "/var/lib/docker/volumes/act-deploy-env/_data/workflow/outputcmd.txt", actMounts, true},
		{"longest mount wins", "/a/b/c", "/y/c", []Mount{{Source: "/x", Destination: "/a"}, {Source: "/y", Destination: "/a/b"}}, true},
		{"root mount is ignored", "/etc/x", "", []Mount{{Source: "/", Destination: "/"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, _, ok := NewHostPaths(c.mounts).Host(c.in)
			require.Equal(t, c.ok, ok)
			require.Equal(t, c.want, got)
		})
	}
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	h := NewHostPaths(runnerMounts)
	cases := []struct{ name, in, want string }{
		{"path", "/github/workspace/compose.yml", "/home/runner/_work/app/app/compose.yml"},
		{"comma list", "/github/workspace/a.yml, /github/workspace/b.yml", "/home/runner/_work/app/app/a.yml, /home/runner/_work/app/app/b.yml"},
		{"newline list", "/github/workspace/a.yml\n/github/workspace/b.yml\n", "/home/runner/_work/app/app/a.yml\n/home/runner/_work/app/app/b.yml\n"},
		{"relative list untouched", "docker-compose.blue.yml", "docker-compose.blue.yml"},
		{"host path untouched", "/etc/nginx/conf.d/service-url.inc", "/etc/nginx/conf.d/service-url.inc"},
		{"url untouched", "http://127.0.0.1:8081/github/workspace", "http://127.0.0.1:8081/github/workspace"},
		{"template untouched", "set $service_url http://{{.Host}}:{{.Port}};", "set $service_url http://{{.Host}}:{{.Port}};"},
		{"command untouched", "nginx -p /github/workspace -t", "nginx -p /github/workspace -t"},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, c.want, h.translate(c.in))
		})
	}
}

// runnerEnv is what GitHub's runner gives a container action, secrets
// and tokens included.
var runnerEnv = map[string]string{
	"HOSTNAME":                       "2f1a9c",
	"PATH":                           "/usr/bin",
	"HOME":                           "/github/home",
	"CI":                             "true",
	"GITHUB_ACTIONS":                 "true",
	"GITHUB_WORKSPACE":               "/github/workspace",
	"GITHUB_OUTPUT":                  "/github/file_commands/set_output_1a",
	"GITHUB_STEP_SUMMARY":            "/github/file_commands/step_summary_1a",
	"GITHUB_STATE":                   "/github/file_commands/save_state_1a",
	"GITHUB_ENV":                     "/github/file_commands/set_env_1a",
	"GITHUB_EVENT_PATH":              "/github/workflow/event.json",
	"GITHUB_SHA":                     "0123abc",
	"GITHUB_REF_NAME":                "main",
	"GITHUB_TOKEN":                   "ghs_token0123456789",
	"RUNNER_TEMP":                    "/home/runner/_work/_temp",
	"RUNNER_OS":                      "Linux",
	"ACTIONS_RUNTIME_TOKEN":          "eyJ0eXAiOiJKV1QiruntimeToken",
	"ACTIONS_RUNTIME_URL":            "https://pipelines.actions.githubusercontent.com/abc/",
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "eyJ0eXAiOiJKV1QioidcToken",
	"ACTIONS_ID_TOKEN_REQUEST_URL":   "https://pipelines.actions.githubusercontent.com/oidc",
	"ACTIONS_CACHE_URL":              "https://artifactcache.actions.githubusercontent.com/abc/",
	"INPUT_COMPOSE-FILE":             "docker-compose.yml",
	"INPUT_NGINX-INCLUDE-PATH":       "/etc/nginx/conf.d/service-url.inc",
	"INPUT_ENV-FILE":                 "/github/workspace/.env",
	"INPUT_REGISTRY-USERNAME":        "deployer",
	"INPUT_REGISTRY-PASSWORD":        "s3cret-registry-pw",
	"INPUT_NGINX-RELOAD-COMMAND":     "nginx -s reload",
	"APP_IMAGE":                      "ghcr.io/acme/app:1.2.3",
	"DB_PASSWORD":                    "s3cret-db-pw",
	"BLUEGREEN_LOCK_DIR":             "/run/bluegreen",
}

func TestHelperEnv(t *testing.T) {
	t.Parallel()
	settings, handed, cwd, err := NewHostPaths(runnerMounts).helperEnv(runnerEnv, "/github/workspace/deploy", "abc123")
	require.NoError(t, err)
	require.Equal(t, "/home/runner/_work/app/app/deploy", cwd)
	require.Equal(t, map[string]string{
		"PATH":    hostPATH,
		EnvRole:   roleHelper,
		EnvRoot:   hostMount,
		EnvCwd:    "/home/runner/_work/app/app/deploy",
		EnvParent: "abc123",
	}, config.EnvMap(settings), "the container's Env is the helper's own settings and nothing else")
	require.Equal(t, map[string]string{
		"CI":                         "true",
		"GITHUB_ACTIONS":             "true",
		"GITHUB_WORKSPACE":           "/home/runner/_work/app/app",
		"GITHUB_OUTPUT":              "/home/runner/_work/_temp/_runner_file_commands/set_output_1a",
		"GITHUB_STEP_SUMMARY":        "/home/runner/_work/_temp/_runner_file_commands/step_summary_1a",
		"GITHUB_STATE":               "/home/runner/_work/_temp/_runner_file_commands/save_state_1a",
		"GITHUB_SHA":                 "0123abc",
		"GITHUB_REF_NAME":            "main",
		"RUNNER_OS":                  "Linux",
		"INPUT_COMPOSE-FILE":         "docker-compose.yml",
		"INPUT_NGINX-INCLUDE-PATH":   "/etc/nginx/conf.d/service-url.inc",
		"INPUT_ENV-FILE":             "/home/runner/_work/app/app/.env",
		"INPUT_REGISTRY-USERNAME":    "deployer",
		"INPUT_REGISTRY-PASSWORD":    "s3cret-registry-pw",
		"INPUT_NGINX-RELOAD-COMMAND": "nginx -s reload",
		"APP_IMAGE":                  "ghcr.io/acme/app:1.2.3",
		"DB_PASSWORD":                "s3cret-db-pw",
		"BLUEGREEN_LOCK_DIR":         "/run/bluegreen",
		"DOCKER_HOST":                "unix:///var/run/docker.sock",
	}, handed, "the handover holds the inputs, the runner's variables the deploy reads or a compose file may name, and the user's; never the runner's tokens")
}

// TestHelperContainerHoldsNoSecret: the helper container's configuration,
// which `docker inspect` shows, holds neither an input nor a token nor a
// secret, in its Env, its command or its labels.
func TestHelperContainerHoldsNoSecret(t *testing.T) {
	t.Parallel()
	settings, handed, cwd, err := NewHostPaths(runnerMounts).helperEnv(runnerEnv, "/github/workspace", "abc123")
	require.NoError(t, err)
	h := &Helper{Name: "bluegreen-hoist-abc", Image: "sha256:1234", Exe: "/bluegreen", Settings: settings,
		Labels: map[string]string{LabelParent: "abc123", LabelWorkspace: cwd}, Handover: Handover{Env: handed}}
	cfg, hostCfg := h.Config()
	for _, kv := range cfg.Env {
		k, _, _ := strings.Cut(kv, "=")
		require.False(t, strings.HasPrefix(k, "INPUT_"), "no input in the helper's Env: %s", kv)
		require.False(t, strings.HasPrefix(k, "ACTIONS_"), "no runner variable in the helper's Env: %s", kv)
		require.False(t, strings.HasPrefix(k, "GITHUB_"), "no runner variable in the helper's Env: %s", kv)
	}
	inspectable := strings.Join(append(append(append([]string{}, cfg.Env...), cfg.Entrypoint...), cfg.Cmd...), "\n")
	for k, v := range cfg.Labels {
		inspectable += "\n" + k + "=" + v
	}
	inspectable += "\n" + strings.Join(hostCfg.Binds, "\n")
	for _, secret := range []string{"s3cret-registry-pw", "s3cret-db-pw", "runtimeToken", "oidcToken", "ghs_token", "ghcr.io/acme"} {
		require.NotContains(t, inspectable, secret)
	}
	require.True(t, cfg.OpenStdin && cfg.StdinOnce && cfg.AttachStdin, "the handover goes in through stdin, closed when the launcher's attachment ends")
}

func TestForwarded(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"INPUT_REGISTRY-PASSWORD":        true,
		"INPUT_HEALTH-PATH":              true,
		"GITHUB_ACTIONS":                 true,
		"GITHUB_WORKSPACE":               true,
		"GITHUB_RUN_ID":                  true,
		"GITHUB_REF_NAME":                true,
		"RUNNER_DEBUG":                   true,
		"CI":                             true,
		"ACT":                            true,
		"BLUEGREEN_LOCK_DIR":             true,
		"COMPOSE_PROFILES":               true,
		"VERSION":                        true,
		"ACTIONS_RUNTIME_TOKEN":          false,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": false,
		"ACTIONS_ID_TOKEN_REQUEST_URL":   false,
		"ACTIONS_CACHE_URL":              false,
		"ACTIONS_RESULTS_URL":            false,
		"GITHUB_TOKEN":                   false,
		"GITHUB_EVENT_PATH":              false,
		"GITHUB_ENV":                     false,
		"GITHUB_SOMETHING_NEW":           false,
		"RUNNER_TEMP":                    false,
		"HOSTNAME":                       false,
		"HOME":                           false,
		"PATH":                           false,
		"DOCKER_HOST":                    false,
		EnvRole:                          false,
		EnvHoist:                         false,
	}
	for k, want := range cases {
		require.Equal(t, want, Forwarded(k), k)
	}
}

func TestHelperEnvProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no workspace", map[string]string{}, "GITHUB_WORKSPACE is not set"},
		{"output not mounted", map[string]string{"GITHUB_WORKSPACE": "/github/workspace", "GITHUB_OUTPUT": "/tmp/out"}, "GITHUB_OUTPUT=/tmp/out is not on a directory the runner mounted"},
		{"workspace not mounted", map[string]string{"GITHUB_WORKSPACE": "/src"}, "GITHUB_WORKSPACE=/src is not on a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, _, _, err := NewHostPaths(runnerMounts).helperEnv(c.env, "/github/workspace", "id")
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestDockerHost(t *testing.T) {
	t.Parallel()
	h := NewHostPaths([]Mount{{Source: "/run/user/1000/docker.sock", Destination: "/var/run/docker.sock"}})
	require.Equal(t, "unix:///run/user/1000/docker.sock", h.dockerHost(""))
	require.Equal(t, "unix:///run/user/1000/docker.sock", h.dockerHost("unix:///var/run/docker.sock"))
	require.Equal(t, "tcp://10.0.0.1:2376", h.dockerHost("tcp://10.0.0.1:2376"))
}

func TestActWithoutBind(t *testing.T) {
	t.Parallel()
	volumeWS := append([]Mount{{Type: "volume", Name: "act-deploy", Source: "/var/lib/docker/volumes/act-deploy/_data", Destination: "/home/me/app"}}, actMounts[2:]...)
	cases := []struct {
		name   string
		env    map[string]string
		mounts []Mount
		want   string
	}{
		{"act with --bind", map[string]string{"ACT": "true", "GITHUB_WORKSPACE": "/home/me/app"}, actMounts, ""},
		{"act without --bind", map[string]string{"ACT": "true", "GITHUB_WORKSPACE": "/home/me/app"}, volumeWS, "Run act with --bind"},
		{"runner on a volume", map[string]string{"GITHUB_WORKSPACE": "/home/me/app"}, volumeWS, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := actWithoutBind(c.env, NewHostPaths(c.mounts))
			if c.want == "" {
				require.Empty(t, got)
				return
			}
			require.Contains(t, got, c.want)
			require.True(t, strings.Contains(got, "act-deploy"), got)
		})
	}
}

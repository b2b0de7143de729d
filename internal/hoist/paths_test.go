package hoist

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

func TestHelperEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"HOSTNAME":                   "2f1a9c",
		"PATH":                       "/usr/bin",
		"HOME":                       "/github/home",
		"GITHUB_ACTIONS":             "true",
		"GITHUB_WORKSPACE":           "/github/workspace",
		"GITHUB_OUTPUT":              "/github/file_commands/set_output_1a",
		"GITHUB_STEP_SUMMARY":        "/github/file_commands/step_summary_1a",
		"GITHUB_STATE":               "/github/file_commands/save_state_1a",
		"GITHUB_ENV":                 "/github/file_commands/set_env_1a",
		"GITHUB_EVENT_PATH":          "/github/workflow/event.json",
		"RUNNER_TEMP":                "/home/runner/_work/_temp",
		"INPUT_COMPOSE-FILE":         "docker-compose.yml",
		"INPUT_NGINX-INCLUDE-PATH":   "/etc/nginx/conf.d/service-url.inc",
		"INPUT_ENV-FILE":             "/github/workspace/.env",
		"INPUT_REGISTRY-PASSWORD":    "s3cret",
		"INPUT_NGINX-RELOAD-COMMAND": "nginx -s reload",
	}
	out, cwd, err := NewHostPaths(runnerMounts).helperEnv(env, "/github/workspace/deploy", "abc123")
	require.NoError(t, err)
	require.Equal(t, "/home/runner/_work/app/app/deploy", cwd)
	got := config.EnvMap(out)
	want := map[string]string{
		"HOME":                       "/home/runner/_work/_temp/_github_home",
		"GITHUB_ACTIONS":             "true",
		"GITHUB_WORKSPACE":           "/home/runner/_work/app/app",
		"GITHUB_OUTPUT":              "/home/runner/_work/_temp/_runner_file_commands/set_output_1a",
		"GITHUB_STEP_SUMMARY":        "/home/runner/_work/_temp/_runner_file_commands/step_summary_1a",
		"GITHUB_STATE":               "/home/runner/_work/_temp/_runner_file_commands/save_state_1a",
		"GITHUB_ENV":                 "/home/runner/_work/_temp/_runner_file_commands/set_env_1a",
		"GITHUB_EVENT_PATH":          "/home/runner/_work/_temp/_github_workflow/event.json",
		"RUNNER_TEMP":                "/home/runner/_work/_temp",
		"INPUT_COMPOSE-FILE":         "docker-compose.yml",
		"INPUT_NGINX-INCLUDE-PATH":   "/etc/nginx/conf.d/service-url.inc",
		"INPUT_ENV-FILE":             "/home/runner/_work/app/app/.env",
		"INPUT_REGISTRY-PASSWORD":    "s3cret",
		"INPUT_NGINX-RELOAD-COMMAND": "nginx -s reload",
		"PATH":                       hostPATH,
		"DOCKER_HOST":                "unix:///var/run/docker.sock",
		EnvRole:                      roleHelper,
		EnvRoot:                      hostMount,
		EnvCwd:                       "/home/runner/_work/app/app/deploy",
		EnvParent:                    "abc123",
	}
	require.Equal(t, want, got)
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
			_, _, err := NewHostPaths(runnerMounts).helperEnv(c.env, "/github/workspace", "id")
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

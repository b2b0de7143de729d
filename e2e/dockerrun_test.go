//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// actionDockerfile is the release Dockerfile's final stage. No registry is
// reachable here, so the tests cannot run its golang build stage; they
// build the binary the same way (CGO_ENABLED=0, -trimpath, -s -w) and copy
// it onto scratch, which gives the same image.
const actionDockerfile = `FROM scratch
COPY bluegreen /bluegreen
USER 0:0
ENTRYPOINT ["/bluegreen"]
`

var (
	actionMu    sync.Mutex
	actionRefs  int
	actionTag   string
	actionBuilt bool
)

// actionImage builds the action's image once for the tests that use it at
// the same time and removes it after the last of them.
func actionImage(t testing.TB) string {
	t.Helper()
	docker := testenv.RequireDocker(t)
	actionMu.Lock()
	defer actionMu.Unlock()
	if !actionBuilt {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		tag, err := throwaway.BuildBinaryImage(ctx, docker, testenv.RepoRoot(t), ".", "bluegreen", actionDockerfile, "bluegreen-action-e2e")
		require.NoError(t, err)
		actionTag, actionBuilt = tag, true
	}
	actionRefs++
	tag := actionTag
	t.Cleanup(func() {
		actionMu.Lock()
		defer actionMu.Unlock()
		actionRefs--
		if actionRefs == 0 && actionBuilt {
			throwaway.RemoveImage(context.Background(), docker, actionTag)
			actionBuilt = false
		}
	})
	return tag
}

// helpersOf lists the helper containers (any state) started for a
// workspace on the host.
func helpersOf(t testing.TB, workspace string) []string {
	t.Helper()
	docker := testenv.RequireDocker(t)
	list, err := docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", hosthelper.LabelWorkspace+"="+workspace))})
	require.NoError(t, err)
	var names []string
	for _, c := range list {
		names = append(names, strings.TrimPrefix(c.Names[0], "/")+" ("+c.State+")")
	}
	return names
}

// runnerLayout is the directory tree GitHub's runner keeps on the host for
// a job, and the container paths it mounts them at for a container action
// (actions/runner, ContainerActionHandler).
type runnerLayout struct {
	temp      string // _work/_temp
	home      string // _work/_temp/_github_home -> /github/home
	workflow  string // _work/_temp/_github_workflow -> /github/workflow
	commands  string // _work/_temp/_runner_file_commands -> /github/file_commands
	workspace string // the checkout -> /github/workspace
	id        string // the step's file-command suffix
}

func newRunnerLayout(t *testing.T, workspace string) runnerLayout {
	t.Helper()
	temp := filepath.Join(t.TempDir(), "_work", "_temp")
	l := runnerLayout{
		temp:      temp,
		home:      filepath.Join(temp, "_github_home"),
		workflow:  filepath.Join(temp, "_github_workflow"),
		commands:  filepath.Join(temp, "_runner_file_commands"),
		workspace: workspace,
		id:        strconv.FormatInt(time.Now().UnixNano(), 16),
	}
	for _, d := range []string{l.home, l.workflow, l.commands} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(l.workflow, "event.json"), []byte(`{"ref":"refs/heads/main"}`), 0o644))
	for _, f := range []string{"set_output_", "step_summary_", "set_env_", "add_path_", "save_state_"} {
		require.NoError(t, os.WriteFile(filepath.Join(l.commands, f+l.id), nil, 0o644))
	}
	return l
}

func (l runnerLayout) file(prefix string) string {
	return filepath.Join(l.commands, prefix+l.id)
}

// dockerRun is one container action run, started the way the runner
// starts it: `docker run --name … --label … --workdir /github/workspace
// --rm -e NAME … -e GITHUB_ACTIONS=true -e CI=true -v …` with the values of
// the -e names in the docker client's own environment.
type dockerRun struct {
	*proc
	name   string
	layout runnerLayout
}

func startDockerRun(t *testing.T, image string, l runnerLayout, inputs map[string]string, env ...string) *dockerRun {
	t.Helper()
	name := testenv.UniqueName("bgrun")
	vars := map[string]string{
		"HOME":                "/github/home",
		"GITHUB_WORKSPACE":    "/github/workspace",
		"GITHUB_OUTPUT":       "/github/file_commands/set_output_" + l.id,
		"GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary_" + l.id,
		"GITHUB_ENV":          "/github/file_commands/set_env_" + l.id,
		"GITHUB_PATH":         "/github/file_commands/add_path_" + l.id,
		"GITHUB_STATE":        "/github/file_commands/save_state_" + l.id,
		"GITHUB_EVENT_PATH":   "/github/workflow/event.json",
		"GITHUB_REPOSITORY":   "acme/spring-backend",
		"GITHUB_RUN_ID":       "4242",
		"GITHUB_SHA":          "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_ACTOR":        "octocat",
		"GITHUB_WORKFLOW":     "deploy",
		"RUNNER_OS":           "Linux",
		"RUNNER_TEMP":         l.temp,
	}
	for k, v := range inputs {
		vars["INPUT_"+strings.ToUpper(k)] = v
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	args := []string{"run", "--name", name, "--label", "bgrunner", "--workdir", "/github/workspace", "--rm"}
	cmdEnv := os.Environ()
	for k, v := range vars {
		args = append(args, "-e", k)
		cmdEnv = append(cmdEnv, k+"="+v)
	}
	args = append(args, "-e", "GITHUB_ACTIONS=true", "-e", "CI=true",
		"-v", "/var/run/docker.sock:/var/run/docker.sock",
		"-v", l.home+":/github/home",
		"-v", l.workflow+":/github/workflow",
		"-v", l.commands+":/github/file_commands",
		"-v", l.workspace+":/github/workspace",
		image)
	cmd := exec.Command("docker", args...)
	cmd.Env = cmdEnv
	r := &dockerRun{proc: startProc(t, "docker run", cmd), name: name, layout: l}
	t.Cleanup(func() {
		_ = exec.Command("docker", "rm", "-f", name).Run()
	})
	return r
}

// TestDockerRunLikeRunner runs the image exactly as GitHub's runner runs a
// container action: only the Docker socket and the runner's directories
// mounted, the workspace at /github/workspace, file commands under
// /github/file_commands, inputs as INPUT_* with hyphens, on the default
// bridge network. Two runs switch the host's nginx blue then green: the
// hoisted helper found the host's nginx, its config and its processes,
// probed the colors on the host's 127.0.0.1, and wrote the step outputs
// and the job summary into the runner's files. No helper is left.
func TestDockerRunLikeRunner(t *testing.T) {
	t.Parallel()
	image := actionImage(t)
	f := newFixture(t, nil)
	layout := newRunnerLayout(t, f.dir)

	// Credentials are passed as inputs; the images are local, so nothing is
	// pulled, but the password must still be masked and never printed.
	const password = "pw-4f9c2e7d1a"
	inputs := map[string]string{"registry-username": "deployer", "registry-password": password}
	for k, v := range f.inputs {
		inputs[k] = v
	}
	for i, want := range []struct{ version, color, previous string }{
		{"v1", "blue", ""},
		{"v2", "green", "blue"},
	} {
		require.NoError(t, os.WriteFile(layout.file("set_output_"), nil, 0o644))
		require.NoError(t, os.WriteFile(layout.file("step_summary_"), nil, 0o644))
		seen := watchHelpers(t, f.dir)
		r := startDockerRun(t, image, layout, inputs, append([]string{"APP_IMAGE=" + f.image, "VERSION=" + want.version}, runnerSecrets...)...)
		code, out := r.wait(3 * time.Minute)
		require.Equal(t, 0, code, out)
		helpers := seen()
		require.NotEmpty(t, helpers, "the helper was inspected while it ran")
		for _, h := range helpers {
			requireNothingSecret(t, h, append([]string{password}, secretValues()...))
		}
		require.Contains(t, out, "::add-mask::"+password, "the password is masked before anything else is printed")
		require.Equal(t, strings.Count(out, "::add-mask::"+password), strings.Count(out, password), "the password appears only in ::add-mask::")
		require.Less(t, strings.Index(out, "::add-mask::"), strings.Index(out, "bluegreen: leaving"), "masked first")
		require.Contains(t, out, "bluegreen: running on the host", "run %d was hoisted", i+1)
		require.Contains(t, out, "::group::", "phases are log groups")

		outputs := readOutputs(t, layout.file("set_output_"))
		require.Equal(t, want.color, outputs["active-color"], "run %d", i+1)
		require.Equal(t, want.previous, outputs["previous-color"], "run %d", i+1)
		summary, err := os.ReadFile(layout.file("step_summary_"))
		require.NoError(t, err)
		require.Contains(t, string(summary), "### bluegreen "+f.project)
		require.Contains(t, string(summary), "Health check")

		f.requireServes(want.version, want.color)
		require.Empty(t, helpersOf(t, f.dir), "no helper container is left")
		require.Empty(t, f.running(map[string]string{"blue": "green", "green": "blue"}[want.color]), "the old color is stopped")
	}
}

// runnerSecrets are tokens and secrets a runner puts in a container
// action's environment: its own credentials, a job-level secret, and a
// variable the compose file does not use.
var runnerSecrets = []string{
	"ACTIONS_RUNTIME_TOKEN=tok-runtime-5d1e8a",
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN=tok-oidc-93b2c4",
	"ACTIONS_ID_TOKEN_REQUEST_URL=https://pipelines.example/oidc?tok-oidc-url",
	"GITHUB_TOKEN=ghs_tok-github-7f3a",
	"DB_PASSWORD=tok-user-secret-41c9",
}

func secretValues() []string {
	var out []string
	for _, kv := range runnerSecrets {
		_, v, _ := strings.Cut(kv, "=")
		out = append(out, v)
	}
	return out
}

// watchHelpers inspects every helper container started for workspace
// until the returned function is called, which returns what it saw: the
// configuration `docker inspect` shows anyone allowed to use the daemon.
func watchHelpers(t *testing.T, workspace string) func() []container.InspectResponse {
	t.Helper()
	return watchContainers([]*client.Client{testenv.RequireDocker(t)}, hosthelper.LabelWorkspace+"="+workspace)
}

// watchContainers inspects, every 50 ms until the returned function is
// called, each container carrying label on any of the daemons, once each
// as soon as it appears, and returns what it saw: a helper lives only as
// long as its deploy.
func watchContainers(daemons []*client.Client, label string) func() []container.InspectResponse {
	stop := make(chan struct{})
	done := make(chan []container.InspectResponse, 1)
	go func() {
		seen := map[string]container.InspectResponse{}
		for {
			for _, docker := range daemons {
				list, err := docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
				if err != nil {
					continue
				}
				for _, c := range list {
					if _, ok := seen[c.ID]; ok {
						continue
					}
					if info, err := docker.ContainerInspect(context.Background(), c.ID); err == nil {
						seen[c.ID] = info
					}
				}
			}
			select {
			case <-stop:
				out := make([]container.InspectResponse, 0, len(seen))
				for _, info := range seen {
					out = append(out, info)
				}
				done <- out
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() []container.InspectResponse {
		close(stop)
		return <-done
	}
}

// requireNothingSecret checks a helper container's inspectable
// configuration: its Env holds only the helper's own settings, and no
// secret is anywhere in its Env, command, labels or mounts.
func requireNothingSecret(t *testing.T, info container.InspectResponse, secrets []string) {
	t.Helper()
	var names []string
	for _, kv := range info.Config.Env {
		k, _, _ := strings.Cut(kv, "=")
		names = append(names, k)
		require.False(t, strings.HasPrefix(k, "INPUT_") || strings.HasPrefix(k, "ACTIONS_") || strings.HasPrefix(k, "GITHUB_"), "the helper's Env holds %s", k)
	}
	require.ElementsMatch(t, []string{"PATH", hosthelper.EnvRole, hosthelper.EnvRoot, hosthelper.EnvCwd, hosthelper.EnvParent}, names, "the helper's Env is its own settings")
	all := strings.Join(info.Config.Env, "\n") + "\n" + strings.Join(info.Config.Entrypoint, " ") + "\n" + strings.Join(info.Config.Cmd, " ") + "\n" + strings.Join(info.Args, " ") + "\n" + info.Path
	for k, v := range info.Config.Labels {
		all += "\n" + k + "=" + v
	}
	for _, s := range secrets {
		require.NotContains(t, all, s, "a secret is visible to docker inspect of the helper %s", info.Name)
	}
}

// TestDockerRunCancel cancels a run mid-health-check the way the runner
// cancels a step: SIGINT to its docker client, which forwards it to the
// container. nginx stays on the old color, the half-started color and the
// helper are removed, and the run ends within seconds.
func TestDockerRunCancel(t *testing.T) {
	t.Parallel()
	image := actionImage(t)
	f := newFixture(t, nil)
	layout := newRunnerLayout(t, f.dir)

	r := startDockerRun(t, image, layout, f.inputs, "APP_IMAGE="+f.image, "VERSION=v1")
	code, out := r.wait(3 * time.Minute)
	require.Equal(t, 0, code, out)
	f.requireServes("v1", "blue")
	before := f.include()

	inputs := map[string]string{"health-retries": "600", "health-interval": "200ms"}
	for k, v := range f.inputs {
		if _, ok := inputs[k]; !ok {
			inputs[k] = v
		}
	}
	r = startDockerRun(t, image, layout, inputs, "APP_IMAGE="+f.image, "VERSION=v2", "READY_AFTER=10m")
	r.waitFor("probe", 2*time.Minute)
	cancelled := time.Now()
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGINT))
	code, out = r.wait(time.Minute)
	took := time.Since(cancelled)
	t.Logf("the cancelled run ended %s after SIGINT, exit code %d", took.Round(time.Millisecond), code)
	require.NotEqual(t, 0, code, out)
	require.Less(t, took, 15*time.Second, "a cancelled run stops within seconds")

	require.Equal(t, before, f.include(), "the include is untouched")
	f.requireServes("v1", "blue")
	require.Empty(t, f.all("green"), "the half-started color is removed")
	require.Eventually(t, func() bool { return len(helpersOf(t, f.dir)) == 0 }, 20*time.Second, 200*time.Millisecond, "no helper is left: %v", helpersOf(t, f.dir))
}

// TestDockerRunWithoutSocket: a runner that does not mount the Docker
// socket gets a message that says what the action needs.
func TestDockerRunWithoutSocket(t *testing.T) {
	t.Parallel()
	image := actionImage(t)
	ws := t.TempDir()
	name := testenv.UniqueName("bgrun")
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
	out, err := exec.Command("docker", "run", "--rm", "--name", name, "--workdir", "/github/workspace",
		"-e", "GITHUB_ACTIONS=true", "-e", "GITHUB_WORKSPACE=/github/workspace", "-v", ws+":/github/workspace", image).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "::error title=Hoist to the host::failed to reach the Docker daemon")
	require.Contains(t, string(out), "mount /var/run/docker.sock")
}

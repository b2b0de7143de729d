//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// The README's workflows live in examples/ and are run here, so that the
// YAML users paste cannot rot: examples/deploy.yml's deploy job and
// examples/rollback.yml, by nektos/act, against the real Docker daemon and
// a private nginx.
//
// What the test changes, and only that (actWorkflowFromExample and
// exampleProject):
//   - the workflow keeps only the job under test, without `needs:`: the
//     build job runs on GitHub's runners (setup-java, Gradle, a push to
//     Docker Hub) and needs the network; the test tags a local image the
//     way that job tags the pushed one, <DOCKER_HUB_REPOSITORY>:<sha>;
//   - `uses: actions/checkout@…` steps are left out: act --bind hands the
//     job the workspace, which holds the example's files already;
//   - the workflow's name is made unique, since act names its containers
//     after it;
//   - the action step gets inputs that point it at the test's private
//     nginx, free ports and a unique project-name, replacing only those;
//     the compose files get the same ports and name;
//   - `uses: bluegreen-action/bluegreen@v1` stays as written: act's
//     --local-repository serves it from a copy of this repository's
//     action.yml whose image is the locally built one.
// Secrets are given with -s, as GitHub would give them.

// exampleProject copies examples/ into the fixture's workspace as a user's
// repository holds it, with the fixture's ports and project name, and
// commits it (act reads the sha from git).
func exampleProject(t *testing.T, f *fixture) (sha string) {
	t.Helper()
	root := filepath.Join(testenv.RepoRoot(t), "examples")
	for _, c := range []string{"blue", "green"} {
		b, err := os.ReadFile(filepath.Join(root, "docker-compose."+c+".yml"))
		require.NoError(t, err)
		text := string(b)
		require.Contains(t, text, "spring-backend-"+c, "docker-compose.%s.yml names its container", c)
		require.Contains(t, text, map[string]string{"blue": "8081:8080", "green": "8082:8080"}[c])
		text = strings.NewReplacer("spring-backend", f.project, "8081:8080", itoa(f.bluePort)+":8080", "8082:8080", itoa(f.greenPort)+":8080").Replace(text)
		require.NoError(t, os.WriteFile(filepath.Join(f.dir, "docker-compose."+c+".yml"), []byte(text), 0o644))
	}
	git := exec.Command("sh", "-c", "git init -q -b main && git add -A && git -c user.name=bluegreen -c user.email=bluegreen@example.invalid commit -q -m checkout && git rev-parse HEAD")
	git.Dir = f.dir
	out, err := git.Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// actWorkflowFromExample reads examples/<file> and applies the changes
// listed above for job, setting the action step's inputs in with.
func actWorkflowFromExample(t *testing.T, file, job, name string, with map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", file))
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &doc))
	top := doc.Content[0]
	set(t, top, "name", &yaml.Node{Kind: yaml.ScalarNode, Value: name})
	jobs := get(t, top, "jobs")
	var kept *yaml.Node
	for i := 0; i < len(jobs.Content); i += 2 {
		if jobs.Content[i].Value == job {
			kept = jobs.Content[i+1]
			jobs.Content = []*yaml.Node{jobs.Content[i], kept}
			break
		}
	}
	require.NotNil(t, kept, "%s has a job %s", file, job)
	del(kept, "needs")
	steps := get(t, kept, "steps")
	var out []*yaml.Node
	actions := 0
	for _, step := range steps.Content {
		uses := ""
		if u := find(step, "uses"); u != nil {
			uses = u.Value
		}
		switch {
		case strings.HasPrefix(uses, "actions/checkout@"):
			continue
		case strings.HasPrefix(uses, "bluegreen-action/bluegreen@"):
			actions++
			require.Equal(t, "bluegreen-action/bluegreen@v1", uses, "the README's ref")
			w := get(t, step, "with")
			keys := make([]string, 0, len(with))
			for k := range with {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				set(t, w, k, &yaml.Node{Kind: yaml.ScalarNode, Value: with[k], Style: yaml.DoubleQuotedStyle})
			}
		}
		out = append(out, step)
	}
	require.Equal(t, 1, actions, "%s's %s job has one bluegreen step", file, job)
	steps.Content = out
	text, err := yaml.Marshal(&doc)
	require.NoError(t, err)
	return string(text)
}

func find(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func get(t *testing.T, m *yaml.Node, key string) *yaml.Node {
	t.Helper()
	v := find(m, key)
	require.NotNil(t, v, "no %s", key)
	return v
}

func set(t *testing.T, m *yaml.Node, key string, v *yaml.Node) {
	t.Helper()
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

func del(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// localAction is a copy of this repository's action.yml whose image is
// the locally built one, for act's --local-repository.
func localAction(t *testing.T, img string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "action.yml"))
	require.NoError(t, err)
	const released = "image: docker://ghcr.io/bluegreen-action/bluegreen:v1"
	require.Contains(t, string(b), released)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "action.yml"), []byte(strings.Replace(string(b), released, "image: docker://"+img, 1)), 0o644))
	return dir
}

// runExample runs one example workflow with act and returns its output.
func runExample(t *testing.T, f *fixture, act, jobImage, actionDir, event, workflow string, secrets map[string]string) (int, string) {
	t.Helper()
	wf := filepath.Join(t.TempDir(), "workflow.yml")
	require.NoError(t, os.WriteFile(wf, []byte(workflow), 0o644))
	t.Logf("workflow as act runs it:\n%s", workflow)
	args := []string{event, "-W", wf, "-C", f.dir, "-P", "self-hosted=" + jobImage, "--pull=false", "--bind", "--rm",
		"--local-repository", "bluegreen-action/bluegreen@v1=" + actionDir}
	for k, v := range secrets {
		args = append(args, "-s", k+"="+v)
	}
	home := t.TempDir()
	cmd := exec.Command(act, args...)
	cmd.Dir = f.dir
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	return startProc(t, "act", cmd).wait(5 * time.Minute)
}

// TestExampleWorkflowsUnderAct runs examples/deploy.yml's deploy job
// twice and then examples/rollback.yml: blue, green, and back to blue,
// each served by nginx. The app's .env comes from the PROPERTIES_PROD
// secret through the example's printf step: a secret holding quotes, $
// and a command substitution lands in .env byte for byte and runs nothing.
func TestExampleWorkflowsUnderAct(t *testing.T) {
	t.Parallel()
	act := requireAct(t)
	img := actionImage(t)
	job := actJobImage(t)
	f := newFixture(t, nil)
	docker := f.docker
	sha := exampleProject(t, f)
	actionDir := localAction(t, img)

	repo := testenv.UniqueName("bluegreen-example")
	require.NoError(t, docker.ImageTag(context.Background(), f.image, repo+":"+sha))
	t.Cleanup(func() { _, _ = docker.ImageRemove(context.Background(), repo+":"+sha, image.RemoveOptions{}) })

	name := testenv.UniqueName("bgexample")
	cleanupAct(t, "act-"+name)
	with := map[string]string{
		"project-name":         f.project,
		"blue-port":            itoa(f.bluePort),
		"green-port":           itoa(f.greenPort),
		"nginx-include-path":   f.nginx.IncludePath,
		"nginx-test-command":   strings.Join(f.nginx.TestCmd(), " "),
		"nginx-reload-command": strings.Join(f.nginx.ReloadCmd(), " "),
	}
	secrets := func(version string) map[string]string {
		return map[string]string{
			"DOCKER_HUB_USERNAME":     "example-user",
			"DOCKER_HUB_ACCESS_TOKEN": "example-token-not-used",
			"DOCKER_HUB_REPOSITORY":   repo,
			"PROPERTIES_PROD":         "VERSION=" + version + "\nNOTE='quotes \" and $(touch pwned) and `touch pwned` stay text'",
		}
	}

	deploy := actWorkflowFromExample(t, "deploy.yml", "deploy", name, with)
	for _, step := range []struct{ version, color, previous string }{{"v1", "blue", "nothing"}, {"v2", "green", "blue"}} {
		code, out := runExample(t, f, act, job, actionDir, "push", deploy, secrets(step.version))
		require.Equal(t, 0, code, "act failed")
		require.Contains(t, out, "bluegreen: running on the host")
		port := map[string]int{"blue": f.bluePort, "green": f.greenPort}[step.color]
		require.Contains(t, out, fmt.Sprintf(": %s -> %s on http://127.0.0.1:%d", step.previous, step.color, port))
		f.requireServes(step.version, "")
		env, err := os.ReadFile(filepath.Join(f.dir, ".env"))
		require.NoError(t, err)
		require.Equal(t, secrets(step.version)["PROPERTIES_PROD"]+"\n", string(env), ".env holds the secret byte for byte")
		_, err = os.Stat(filepath.Join(f.dir, "pwned"))
		require.True(t, os.IsNotExist(err), "the secret's $(…) and backticks ran nothing")
		require.Empty(t, helpersOf(t, f.dir))
	}
	require.NotEmpty(t, f.all("blue"), "keep-previous kept blue for the rollback")

	rollback := actWorkflowFromExample(t, "rollback.yml", "rollback", name, with)
	code, out := runExample(t, f, act, job, actionDir, "workflow_dispatch", rollback, secrets("v2"))
	require.Equal(t, 0, code, "act failed")
	require.Contains(t, out, fmt.Sprintf("rolled back: green -> blue on http://127.0.0.1:%d", f.bluePort))
	f.requireServes("v1", "")
}

// actionlintVersion is the release scripts/setup.sh builds and CI runs.
const actionlintVersion = "1.7.12"

// TestActionlint checks every workflow in the repository: its own
// (.github/workflows) and the examples users copy.
func TestActionlint(t *testing.T) {
	t.Parallel()
	bin := lookTool(t, "actionlint", "scripts/setup.sh builds it")
	out, err := exec.Command(bin, "--version").Output()
	require.NoError(t, err)
	require.Contains(t, string(out), actionlintVersion, "scripts/setup.sh's actionlint")
	root := testenv.RepoRoot(t)
	var files []string
	for _, pattern := range []string{".github/workflows/*.yml", "examples/*.yml", "examples/*/*/*.yml"} {
		matches, err := filepath.Glob(filepath.Join(root, pattern))
		require.NoError(t, err)
		for _, m := range matches {
			b, err := os.ReadFile(m)
			require.NoError(t, err)
			var top map[string]any
			if yaml.Unmarshal(b, &top) == nil && top["jobs"] != nil {
				files = append(files, m)
			}
		}
	}
	require.Contains(t, files, filepath.Join(root, "examples", "deploy.yml"))
	require.Contains(t, files, filepath.Join(root, "examples", "rollback.yml"))
	cmd := exec.Command(bin, append([]string{"-no-color"}, files...)...)
	cmd.Dir = root
	lint, err := cmd.CombinedOutput()
	require.NoError(t, err, "actionlint:\n%s", lint)
	t.Logf("actionlint %s: %d workflows clean", actionlintVersion, len(files))
}

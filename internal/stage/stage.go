// Package stage runs real deploys on a throw-away stage: the example app
// image, a private nginx, one compose file for both colors. The one-command
// demo and the benchmark command use it; it drives the same cli.Main that
// the action runs.
package stage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/cli"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/sandbox"
)

// ComposeFile is the stage's project: one file for both colors, the
// color's host port through BLUEGREEN_PORT, the app's behaviour through
// the environment of each deploy.
const ComposeFile = `services:
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION:-v1}
      READY_AFTER: ${READY_AFTER:-0s}
      LISTEN_AFTER: ${LISTEN_AFTER:-0s}
      HEALTH_STATUS: ${HEALTH_STATUS:-0}
      EXIT_AFTER: ${EXIT_AFTER:-0s}
      GRACEFUL: ${GRACEFUL:-0}
      HOSTILE: ${HOSTILE:-0}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    ports:
      - "${BLUEGREEN_PORT}:8080"
`

// Stage is a private nginx, the app image and a workspace.
type Stage struct {
	Dir       string
	Project   string
	Nginx     *sandbox.Nginx
	Image     string
	BluePort  int
	GreenPort int
	Docker    *client.Client
	lockDir   string
	// Inputs are the action inputs every deploy gets; callers may change them.
	Inputs map[string]string
}

// New builds the app image, starts nginx and writes the workspace.
func New(ctx context.Context, project string) (*Stage, error) {
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("failed to create a Docker client: %w", err)
	}
	if _, err := docker.Ping(ctx); err != nil {
		return nil, fmt.Errorf("failed to reach the Docker daemon (is it running, and may you use it?): %w", err)
	}
	wd, _ := os.Getwd()
	root, err := sandbox.RepoRoot(wd)
	if err != nil {
		return nil, fmt.Errorf("run this from inside the bluegreen repository: %w", err)
	}
	s := &Stage{Project: project, Docker: docker}
	if s.Dir, err = os.MkdirTemp("", "bluegreen-stage-"); err != nil {
		return nil, err
	}
	s.lockDir = filepath.Join(s.Dir, "lock")
	if s.Image, err = sandbox.BuildAppImage(ctx, docker, root); err != nil {
		s.Close()
		return nil, err
	}
	if s.Nginx, err = sandbox.StartNginx(sandbox.NginxOptions{Prefix: filepath.Join(s.Dir, "nginx")}); err != nil {
		s.Close()
		return nil, err
	}
	if s.BluePort, err = sandbox.FreePort(); err != nil {
		s.Close()
		return nil, err
	}
	if s.GreenPort, err = sandbox.FreePort(); err != nil {
		s.Close()
		return nil, err
	}
	work := filepath.Join(s.Dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		s.Close()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, "docker-compose.yml"), []byte(ComposeFile), 0o644); err != nil {
		s.Close()
		return nil, err
	}
	s.Inputs = map[string]string{
		"project-name":         project,
		"blue-port":            strconv.Itoa(s.BluePort),
		"green-port":           strconv.Itoa(s.GreenPort),
		"health-path":          "/health",
		"health-interval":      "100ms",
		"health-retries":       "100",
		"nginx-include-path":   s.Nginx.IncludePath,
		"nginx-test-command":   strings.Join(s.Nginx.TestCmd(), " "),
		"nginx-reload-command": strings.Join(s.Nginx.ReloadCmd(), " "),
	}
	return s, nil
}

// Environ is the environment of one run of the action as the runner would
// set it: PATH (and DOCKER_HOST when set) from this process, every input
// as INPUT_<NAME> with hyphens kept (later maps win), then extra KEY=VALUE
// pairs for compose interpolation.
func Environ(base, inputs map[string]string, extra ...string) []string {
	environ := []string{"PATH=" + os.Getenv("PATH")}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		environ = append(environ, "DOCKER_HOST="+h)
	}
	all := map[string]string{}
	for k, v := range base {
		all[k] = v
	}
	for k, v := range inputs {
		all[k] = v
	}
	for k, v := range all {
		environ = append(environ, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	return append(environ, extra...)
}

// Deploy runs the action once with extra inputs and the app's environment,
// writing its log to out.
func (s *Stage) Deploy(ctx context.Context, inputs map[string]string, env map[string]string, out io.Writer) (*deploy.Result, int) {
	extra := []string{"APP_IMAGE=" + s.Image}
	for k, v := range env {
		extra = append(extra, k+"="+v)
	}
	environ := Environ(s.Inputs, inputs, extra...)
	var res *deploy.Result
	code := cli.Main(ctx, cli.Options{
		Environ:  environ,
		Cwd:      filepath.Join(s.Dir, "work"),
		Stdout:   out,
		LockDir:  s.lockDir,
		StateDir: filepath.Join(s.Dir, "state"),
		OnResult: func(r *deploy.Result) { res = r },
	})
	return res, code
}

// Close removes both colors' containers and networks, stops nginx and
// removes the workspace. The app image is kept for the next run.
func (s *Stage) Close() {
	if s.Docker != nil && s.Project != "" {
		for _, c := range []string{"blue", "green"} {
			sandbox.RemoveProject(s.Docker, s.Project+"-"+c)
		}
	}
	s.Nginx.Close()
	if s.Dir != "" {
		_ = os.RemoveAll(s.Dir)
	}
	if s.Docker != nil {
		_ = s.Docker.Close()
	}
}

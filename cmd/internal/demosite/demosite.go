// Package demosite runs real deploys on a throw-away site on this machine:
// the example app image, a private nginx, one compose file for both colors
// (see package throwaway, which builds them). cmd/demo and cmd/bench use
// it; it drives the same cli.Main that the action runs, through cli's
// exported API only. It lives under cmd/ so that no production package
// can import it.
package demosite

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
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// Site is a private nginx, the app image and a workspace.
type Site struct {
	Dir       string
	Project   string
	Nginx     *throwaway.Nginx
	Image     string
	BluePort  int
	GreenPort int
	Docker    *client.Client
	lockDir   string
	// Inputs are the action inputs every deploy gets; callers may change them.
	Inputs map[string]string
	// extraDir holds files outside the workspace (an upstream include).
	extraDir string
}

// New builds the app image, starts nginx and writes the workspace.
func New(ctx context.Context, project string) (*Site, error) {
	return newSite(ctx, project, throwaway.NginxOptions{})
}

// newSite is New with nginx shaped by opts (its Prefix is the site's).
func newSite(ctx context.Context, project string, opts throwaway.NginxOptions) (*Site, error) {
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("failed to create a Docker client: %w", err)
	}
	if _, err := docker.Ping(ctx); err != nil {
		return nil, fmt.Errorf("failed to reach the Docker daemon (is it running, and may you use it?): %w", err)
	}
	wd, _ := os.Getwd()
	root, err := throwaway.RepoRoot(wd)
	if err != nil {
		return nil, fmt.Errorf("run this from inside the bluegreen repository: %w", err)
	}
	s := &Site{Project: project, Docker: docker}
	if s.Dir, err = os.MkdirTemp("", "bluegreen-demo-"); err != nil {
		return nil, err
	}
	s.lockDir = filepath.Join(s.Dir, "lock")
	if s.Image, err = throwaway.BuildAppImage(ctx, docker, root); err != nil {
		s.Close()
		return nil, err
	}
	if s.Nginx, err = throwaway.StartNginx(withPrefix(opts, filepath.Join(s.Dir, "nginx"))); err != nil {
		s.Close()
		return nil, err
	}
	if s.BluePort, err = throwaway.FreePort(); err != nil {
		s.Close()
		return nil, err
	}
	if s.GreenPort, err = throwaway.FreePort(); err != nil {
		s.Close()
		return nil, err
	}
	work := filepath.Join(s.Dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		s.Close()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, "docker-compose.yml"), []byte(throwaway.ComposeFile), 0o644); err != nil {
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

// Deploy runs the action once with extra inputs and the app's environment,
// writing its log to out.
func (s *Site) Deploy(ctx context.Context, inputs map[string]string, env map[string]string, out io.Writer) (*deploy.Result, int) {
	extra := []string{"APP_IMAGE=" + s.Image}
	for k, v := range env {
		extra = append(extra, k+"="+v)
	}
	environ := throwaway.Environ(s.Inputs, inputs, extra...)
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
func (s *Site) Close() {
	if s.Docker != nil && s.Project != "" {
		for _, c := range []string{"blue", "green"} {
			throwaway.RemoveProject(s.Docker, s.Project+"-"+c)
		}
	}
	s.Nginx.Close()
	if s.Dir != "" {
		_ = os.RemoveAll(s.Dir)
	}
	if s.extraDir != "" {
		_ = os.RemoveAll(s.extraDir)
	}
	if s.Docker != nil {
		_ = s.Docker.Close()
	}
}

func withPrefix(opts throwaway.NginxOptions, prefix string) throwaway.NginxOptions {
	opts.Prefix = prefix
	return opts
}

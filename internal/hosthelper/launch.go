package hosthelper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/dockerdiag"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// Launch is the launcher: it starts the helper, streams its output to out,
// forwards cancellation and returns the helper's exit code. A failure to
// get the helper going is said on out, under "Hoist to the host", and
// returned. When this process turns out not to be in a container of the
// daemon it returns ErrNotInContainer, having said nothing: the deploy then
// runs here.
func Launch(ctx context.Context, env map[string]string, cwd string, out io.Writer) (int, error) {
	rep := report.New(out, func(k string) string { return env[k] })
	// The helper masks them too, but its first lines pass through here.
	for _, s := range config.Secrets(func(k string) string { return env[k] }) {
		rep.Mask(s)
	}
	fail := func(format string, args ...any) (int, error) {
		err := fmt.Errorf(format, args...)
		rep.Errorf("Hoist to the host", "%v", err)
		return 0, err
	}

	host := dockerdiag.Host(env["DOCKER_HOST"])
	docker, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return fail("failed to create a Docker client for %s: %w", host, err)
	}
	defer docker.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = docker.Ping(pingCtx)
	cancel()
	if err != nil {
		return fail("%w. The action leaves its container through the host's Docker daemon: the runner must mount /var/run/docker.sock (the host daemon's socket) into container actions, as GitHub's runner does when it runs on the host (not in Kubernetes or Docker-in-Docker)",
			dockerdiag.Unreachable(host, env["DOCKER_HOST"] != "", "from the action container", err))
	}

	me, err := findSelf(ctx, docker)
	if errors.Is(err, ErrNotInContainer) {
		// A binary started on the host (even a host that is itself a
		// container, with its own daemon) is already where the deploy
		// has to run.
		return 0, err
	}
	if err != nil {
		return fail("%w. The action has to find its own container to start its helper on the host; it supports Docker Engine on Linux with the runner using the host's daemon (not Docker-in-Docker or a remote DOCKER_HOST)", err)
	}

	paths := NewHostPaths(me.Mounts)
	if msg := actWithoutBind(env, paths); msg != "" {
		return fail("%s", msg)
	}
	settings, handed, hostCwd, err := paths.helperEnv(env, cwd, me.ID)
	if err != nil {
		return fail("%w. The runner mounts the workspace at /github/workspace and the file commands at /github/file_commands; set working-directory and other paths inside those", err)
	}
	exe, err := os.Executable()
	if err != nil || exe == "" {
		exe = "/bluegreen"
	}

	h := &Helper{
		Docker:   docker,
		Name:     "bluegreen-hoist-" + shortID(me.ID),
		Image:    me.Image,
		Exe:      exe,
		Settings: settings,
		Labels:   map[string]string{LabelParent: me.ID, LabelWorkspace: hostCwd},
		Handover: Handover{Env: handed},
		Out:      out,
		StopWhen: jobContainerGone(docker, me.Network),
	}
	rep.Infof("bluegreen: leaving action container %s for the host: helper from image %s, workspace %s", shortID(me.ID), shortID(me.Image), hostCwd)
	code, err := h.Run(ctx)
	if err != nil {
		return fail("%w", err)
	}
	return code, nil
}

// jobContainerGone fires when the container whose network the action
// container shares has gone. act runs docker steps in the job container's
// network and, when it is cancelled, removes the job container (with
// --rm) but cannot remove the step container; the job container going is
// the only news of the cancellation that reaches here.
func jobContainerGone(docker client.APIClient, network string) func(ctx context.Context, done <-chan struct{}) <-chan string {
	owner, ok := strings.CutPrefix(network, "container:")
	if !ok || owner == "" {
		return nil
	}
	return func(ctx context.Context, done <-chan struct{}) <-chan string {
		stop := make(chan string, 1)
		go func() {
			wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			defer cancel()
			waitC, errC := docker.ContainerWait(wctx, owner, container.WaitConditionNotRunning)
			select {
			case <-waitC:
			case werr := <-errC:
				// A wait that failed while the owner still runs (the
				// daemon's connection dropped) is no news of a cancel.
				if info, err := docker.ContainerInspect(wctx, owner); werr != nil && err == nil && info.State != nil && info.State.Running {
					return
				}
			case <-done:
				return
			}
			stop <- fmt.Sprintf("the job container %s whose network this step shares has stopped", shortID(owner))
		}()
		return stop
	}
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// actWithoutBind explains what to do when act runs without --bind. act
// then copies the workspace into a Docker volume that it deletes when the
// job ends: the deploy would find the compose files, but the running
// color's bind mounts and compose labels would point into a directory
// that is about to disappear. Outside act a workspace on a volume is the
// runner's own choice and is used as it is.
func actWithoutBind(env map[string]string, paths *HostPaths) string {
	if env["ACT"] != "true" {
		return ""
	}
	ws := env["GITHUB_WORKSPACE"]
	if _, m, ok := paths.Host(ws); ok && m.Type == "volume" {
		return fmt.Sprintf("act copied the workspace %s into the Docker volume %s because it runs without --bind; that volume is deleted when the job ends, taking the deployed color's files with it. Run act with --bind (and --rm, so that a cancelled run stops the deploy)", ws, m.Name)
	}
	return ""
}

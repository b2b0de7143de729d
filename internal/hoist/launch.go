package hoist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/dockerhost"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// stopGrace is how long the helper gets, after the launcher forwards a
// cancellation, to abandon its deploy (remove the half-started color,
// leave nginx as it was) before it is killed. The runner itself sends
// SIGINT, then SIGTERM 7.5 s later, then kills its docker client; the
// helper is usually done well inside the first interval.
const stopGrace = 30 * time.Second

// outputFlush bounds the wait for the helper's last log lines once it
// has exited.
const outputFlush = 5 * time.Second

// launch starts the helper, streams its output, forwards cancellation and
// returns its exit code. When this process turns out not to be in a
// container of the daemon, the deploy runs here (Done is false).
func launch(ctx context.Context, env map[string]string, opts Options) Outcome {
	rep := report.New(opts.Stdout, func(k string) string { return env[k] })
	// The helper masks them too, but its first lines pass through here.
	for _, s := range config.Secrets(func(k string) string { return env[k] }) {
		rep.Mask(s)
	}
	fail := func(format string, args ...any) Outcome {
		rep.Errorf("Hoist to the host", format, args...)
		return Outcome{Done: true, Code: exitFailed}
	}

	host := dockerhost.Host(env["DOCKER_HOST"])
	docker, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return fail("failed to create a Docker client for %s: %v", host, err)
	}
	defer docker.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = docker.Ping(pingCtx)
	cancel()
	if err != nil {
		return fail("%v. The action leaves its container through the host's Docker daemon: the runner must mount /var/run/docker.sock (the host daemon's socket) into container actions, as GitHub's runner does when it runs on the host (not in Kubernetes or Docker-in-Docker)",
			dockerhost.Unreachable(host, env["DOCKER_HOST"] != "", "from the action container", err))
	}

	me, err := findSelf(ctx, docker)
	if errors.Is(err, errNotInContainer) {
		// A binary started on the host (even a host that is itself a
		// container, with its own daemon) is already where the deploy
		// has to run.
		return Outcome{Ctx: ctx, Cwd: opts.Cwd}
	}
	if err != nil {
		return fail("%v. The action has to find its own container to start its helper on the host; it supports Docker Engine on Linux with the runner using the host's daemon (not Docker-in-Docker or a remote DOCKER_HOST)", err)
	}

	paths := NewHostPaths(me.Mounts)
	if msg := actWithoutBind(env, paths); msg != "" {
		return fail("%s", msg)
	}
	helperEnv, hostCwd, err := paths.helperEnv(env, opts.Cwd, me.ID)
	if err != nil {
		return fail("%v. The runner mounts the workspace at /github/workspace and the file commands at /github/file_commands; set working-directory and other paths inside those", err)
	}
	exe, err := os.Executable()
	if err != nil || exe == "" {
		exe = "/bluegreen"
	}

	h := &helper{docker: docker, out: opts.Stdout, me: me}
	rep.Infof("bluegreen: leaving action container %s for the host: helper from image %s, workspace %s", shortID(me.ID), shortID(me.Image), hostCwd)
	code, err := h.run(ctx, exe, helperEnv, hostCwd)
	if err != nil {
		return fail("%v", err)
	}
	return Outcome{Done: true, Code: code}
}

// helper is one run of the helper container.
type helper struct {
	docker client.APIClient
	out    io.Writer
	me     self
	id     string
}

// run creates, starts and waits for the helper, and removes it whatever
// happens.
func (h *helper) run(ctx context.Context, exe string, env []string, hostCwd string) (int, error) {
	// The helper's own lifetime is managed here, not by ctx: cancelling
	// ctx means "stop the deploy", which the helper must be told and given
	// time for, not "drop the connection to it".
	bg := context.WithoutCancel(ctx)
	name := "bluegreen-hoist-" + shortID(h.me.ID)
	resp, err := h.docker.ContainerCreate(bg, &container.Config{
		Image:      h.me.Image,
		Entrypoint: []string{exe},
		Cmd:        []string{},
		Env:        env,
		WorkingDir: "/",
		Labels: map[string]string{
			LabelParent:    h.me.ID,
			LabelWorkspace: hostCwd,
		},
		AttachStdout: true,
		AttachStderr: true,
	}, &container.HostConfig{
		// The host's processes (to signal nginx and watch its workers),
		// the host's network (127.0.0.1 is the host's) and the host's
		// root (nginx, its config, the workspace's host path).
		PidMode:     "host",
		NetworkMode: "host",
		UsernsMode:  "host",
		Binds:       []string{"/:" + hostMount},
		// No --privileged: the default capabilities hold CAP_SYS_CHROOT
		// and CAP_KILL. AppArmor's docker-default profile forbids
		// signalling processes outside containers (nginx -s reload) and
		// SELinux labels forbid writing the host's /etc/nginx; with the
		// host's root mounted read-write they protect nothing here.
		SecurityOpt: []string{"apparmor=unconfined", "label=disable"},
		AutoRemove:  true,
	}, nil, nil, name)
	if err != nil {
		return 0, fmt.Errorf("failed to create the helper container %s (--pid host --network host -v /:/host from image %s): %w. The Docker daemon must allow host namespaces and bind mounts of / (rootless Docker and userns-remap do not)", name, shortID(h.me.Image), err)
	}
	h.id = resp.ID
	defer h.remove()

	// Wait is set up before the start so that an instant exit is seen;
	// "removed" because AutoRemove removes the helper on exit.
	waitC, waitErrC := h.docker.ContainerWait(bg, h.id, container.WaitConditionRemoved)
	att, err := h.docker.ContainerAttach(bg, h.id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return 0, fmt.Errorf("failed to attach to the helper container %s: %w", name, err)
	}
	defer att.Close()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(h.out, h.out, att.Reader)
	}()

	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("cancelled before the helper started; nothing was changed: %w", err)
	}
	if err := h.docker.ContainerStart(bg, h.id, container.StartOptions{}); err != nil {
		return 0, fmt.Errorf("failed to start the helper container %s: %w", name, err)
	}

	done := make(chan struct{})
	defer close(done)
	stop := h.stopSignal(ctx, done)
	var code int
	select {
	case res := <-waitC:
		code = exitCode(res)
	case err := <-waitErrC:
		return 0, fmt.Errorf("failed to wait for the helper container %s: %w", name, err)
	case why := <-stop:
		fmt.Fprintf(h.out, "bluegreen: %s; telling the helper to stop its deploy\n", why)
		_ = h.docker.ContainerKill(bg, h.id, "TERM")
		select {
		case res := <-waitC:
			code = exitCode(res)
		case err := <-waitErrC:
			return 0, fmt.Errorf("failed to wait for the helper container %s: %w", name, err)
		case <-time.After(stopGrace):
			fmt.Fprintf(h.out, "bluegreen: the helper did not stop within %s; killing it\n", stopGrace)
			code = 137
		}
	}
	select {
	case <-copied:
	case <-time.After(outputFlush):
	}
	return code, nil
}

// stopSignal fires when the deploy has to stop: the launcher was
// cancelled (the runner's SIGINT/SIGTERM), or the container whose network
// this one shares has gone. act runs docker steps in the job container's
// network and, when it is cancelled, removes the job container (with
// --rm) but cannot remove the step container; the job container going is
// the only news of the cancellation that reaches here.
func (h *helper) stopSignal(ctx context.Context, done <-chan struct{}) <-chan string {
	stop := make(chan string, 2)
	go func() {
		select {
		case <-ctx.Done():
			stop <- "cancelled"
		case <-done:
		}
	}()
	if owner, ok := strings.CutPrefix(h.me.Network, "container:"); ok && owner != "" {
		go func() {
			wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			defer cancel()
			waitC, errC := h.docker.ContainerWait(wctx, owner, container.WaitConditionNotRunning)
			select {
			case <-waitC:
			case werr := <-errC:
				// A wait that failed while the owner still runs (the
				// daemon's connection dropped) is no news of a cancel.
				if info, err := h.docker.ContainerInspect(wctx, owner); werr != nil && err == nil && info.State != nil && info.State.Running {
					return
				}
			case <-done:
				return
			}
			stop <- fmt.Sprintf("the job container %s whose network this step shares has stopped", shortID(owner))
		}()
	}
	return stop
}

// remove makes sure no helper is left, even when AutoRemove could not run
// (the wait was abandoned, the daemon restarted).
func (h *helper) remove() {
	if h.id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := h.docker.ContainerRemove(ctx, h.id, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !strings.Contains(err.Error(), "is already in progress") {
		fmt.Fprintf(h.out, "bluegreen: failed to remove the helper container %s: %v; remove it with: docker rm -f %s\n", shortID(h.id), err, shortID(h.id))
	}
}

func exitCode(res container.WaitResponse) int {
	if res.Error != nil && res.Error.Message != "" && res.StatusCode == 0 {
		return exitFailed
	}
	return int(res.StatusCode)
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

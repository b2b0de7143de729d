package hosthelper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/report"
)

// enter is the helper's first act: take the handover from stdin, then
// chroot into the host's root, so that everything after it (nginx -t,
// /etc/nginx, /proc, /run/bluegreen, the workspace's host path, 127.0.0.1)
// is the host's, exactly as for a binary started on the host. It also ties
// the deploy's context to the launcher, so that a launcher that is killed
// outright stops the deploy. settings is the helper's own Env.
func enter(ctx context.Context, settings map[string]string, opts Options) Outcome {
	h, err := ReadHandover(ctx, opts.Stdin)
	if err != nil {
		rep := report.New(opts.Stdout, func(string) string { return "" })
		rep.Errorf("Hoist to the host", "%v. A helper container is started by the action's launcher, which hands the deploy's environment over on the helper's stdin; it cannot run on its own", err)
		return Outcome{Done: true, Code: exitFailed}
	}
	env := h.Env
	rep := report.New(opts.Stdout, func(k string) string { return env[k] })
	ctx, cancel := context.WithCancelCause(ctx)
	if h.WatchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, opts.Stdin)
			cancel(errRunnerGone)
		}()
	}
	root, cwd := settings[EnvRoot], settings[EnvCwd]
	if h.Dir != "" {
		cwd = h.Dir
	}
	if root == "" {
		root = hostMount
	}
	if err := syscall.Chroot(root); err != nil {
		rep.Errorf("Hoist to the host", "failed to chroot into the host's root at %s: %v. The helper needs CAP_SYS_CHROOT, one of Docker's default capabilities: the runner's Docker daemon must not drop it", root, err)
		cancel(nil)
		return Outcome{Done: true, Code: exitFailed, ResultToken: h.ResultToken, Err: err}
	}
	if h.Lock != nil {
		out := holdFleetLock(ctx, h.Lock, h.ResultToken, opts.Stdout, rep)
		cancel(nil)
		return out
	}
	if h.Dir != "" {
		if err := writeFiles(FilesRoot, h.Dir, h.Files); err != nil {
			rep.Errorf("Hoist to the host", "failed to write the deploy's files on the host: %v", err)
			cancel(nil)
			return Outcome{Done: true, Code: exitFailed, ResultToken: h.ResultToken, Err: err}
		}
		if env["INPUT_MODE"] == "deploy" {
			pruneDirs(ctx, env["DOCKER_HOST"], h.Dir, rep.Warnf)
		}
	}
	if cwd == "" {
		cwd = "/"
	}
	if err := os.Chdir(cwd); err != nil {
		rep.Errorf("Hoist to the host", "failed to enter the workspace's host path %s: %v. The runner's workspace must be a directory on the host (a bind mount), not inside another container", cwd, err)
		cancel(nil)
		return Outcome{Done: true, Code: exitFailed, ResultToken: h.ResultToken, Err: err}
	}
	rep.Infof("bluegreen: running on the host (pid %d, working directory %s)", os.Getpid(), cwd)

	go watchParent(ctx, env["DOCKER_HOST"], settings[EnvParent], cancel)
	return Outcome{Ctx: ctx, Cwd: cwd, Env: env, ResultToken: h.ResultToken}
}

// errRunnerGone is why a fleet helper stops: its stdin, which the runner
// holds open for the whole run, ended.
var errRunnerGone = errors.New("the runner's connection to this host closed")

// watchParent cancels the deploy when the launcher's container stops. The
// launcher forwards an orderly cancellation itself; this covers the
// launcher being killed (docker rm -f, OOM) with the helper still running.
func watchParent(ctx context.Context, host, parent string, cancel context.CancelCauseFunc) {
	if parent == "" {
		return
	}
	if host == "" {
		host = client.DefaultDockerHost
	}
	docker, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer docker.Close()
	for {
		waitC, errC := docker.ContainerWait(ctx, parent, container.WaitConditionNotRunning)
		select {
		case <-ctx.Done():
			return
		case <-waitC:
		case werr := <-errC:
			info, err := docker.ContainerInspect(ctx, parent)
			if werr != nil && err == nil && info.State != nil && info.State.Running {
				// The wait broke, the launcher did not: wait again.
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				continue
			}
		}
		cancel(fmt.Errorf("the action container %s that started this helper has stopped", shortID(parent)))
		return
	}
}

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

// Arrival is a helper process once its handover has arrived: what it was
// handed, and its own Settings (EnvRoot, EnvCwd, EnvParent: the
// container's Env). Its methods take it into the host's context; each
// says its own failure on out, under "Hoist to the host", and returns it.
type Arrival struct {
	Handover Handover
	Settings map[string]string
	stdin    io.Reader
	out      io.Writer
	rep      *report.Reporter
	// cancel ends the context EnterHost returns, with the reason.
	cancel context.CancelCauseFunc
}

// Receive is the helper's first act: take the handover from stdin.
// settings is the helper's own environment. What follows the handover on
// stdin is left for WatchStdin.
func Receive(ctx context.Context, settings map[string]string, stdin io.Reader, out io.Writer) (*Arrival, error) {
	h, err := ReadHandover(ctx, stdin)
	if err != nil {
		rep := report.New(out, func(string) string { return "" })
		rep.Errorf("Hoist to the host", "%v. A helper container is started by the action's launcher, which hands the deploy's environment over on the helper's stdin; it cannot run on its own", err)
		return nil, err
	}
	env := h.Env
	return &Arrival{Handover: h, Settings: settings, stdin: stdin, out: out, rep: report.New(out, func(k string) string { return env[k] })}, nil
}

// EnterHost chroots into the host's root, so that everything after it
// (nginx -t, /etc/nginx, /proc, /run/bluegreen, the workspace's host path,
// 127.0.0.1) is the host's, exactly as for a binary started on the host.
// The context it returns ends when the helper's stdin does, if the
// handover asked for that (WatchStdin).
func (a *Arrival) EnterHost(ctx context.Context) (context.Context, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	a.cancel = cancel
	if a.Handover.WatchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, a.stdin)
			cancel(errRunnerGone)
		}()
	}
	root := a.Settings[EnvRoot]
	if root == "" {
		root = hostMount
	}
	if err := syscall.Chroot(root); err != nil {
		a.rep.Errorf("Hoist to the host", "failed to chroot into the host's root at %s: %v. The helper needs CAP_SYS_CHROOT, one of Docker's default capabilities: the runner's Docker daemon must not drop it", root, err)
		cancel(nil)
		return nil, err
	}
	return ctx, nil
}

// EnterWorkspace follows EnterHost for a deploy, with the context EnterHost
// returned: it writes the files a fleet shipped, enters the workspace's
// host path and returns it, and ties the context to the launcher, so that
// a launcher that is killed outright stops the deploy.
func (a *Arrival) EnterWorkspace(ctx context.Context) (string, error) {
	h, env, rep := a.Handover, a.Handover.Env, a.rep
	cwd := a.Settings[EnvCwd]
	if h.Dir != "" {
		cwd = h.Dir
		if err := writeFiles(FilesRoot, h.Dir, h.Files); err != nil {
			rep.Errorf("Hoist to the host", "failed to write the deploy's files on the host: %v", err)
			a.cancel(nil)
			return "", err
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
		a.cancel(nil)
		return "", err
	}
	rep.Infof("bluegreen: running on the host (pid %d, working directory %s)", os.Getpid(), cwd)

	go watchParent(ctx, env["DOCKER_HOST"], a.Settings[EnvParent], a.cancel)
	return cwd, nil
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

package hosthelper

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/bluegreen-action/bluegreen/internal/dockerdiag"
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

// Helper is one helper container: the launcher's own image (or, for a
// fleet, the same binary made present on a remote host) run with the
// host's PID and network namespaces and the host's root at /host. Its Env
// holds only Settings; the deploy's environment goes in through its stdin
// (Handover), so that `docker inspect` shows no input, token or secret.
type Helper struct {
	Docker client.APIClient
	// Name is the container's name.
	Name string
	// Image is the image id or reference the helper runs, and Exe the
	// binary in it.
	Image string
	Exe   string
	// Settings is the container's whole Env (see HelperSettings).
	Settings []string
	Labels   map[string]string
	// Handover is written to the helper's stdin once it has started.
	Handover Handover
	// Out receives the helper's stdout and stderr as it prints them.
	Out io.Writer
	// StopWhen, when set, is a reason to stop the helper besides ctx: it
	// returns a channel that says why, and gives up when done closes.
	StopWhen func(ctx context.Context, done <-chan struct{}) <-chan string
	// HoldStdin keeps the helper's stdin open after the handover until
	// Release is closed or the helper exits: a helper that watches its
	// stdin (Handover.WatchStdin) then stops when the launcher goes away,
	// even when the launcher is on another machine.
	HoldStdin bool
	Release   <-chan struct{}

	id      string
	started bool
}

// Config returns the helper's container configuration.
func (h *Helper) Config() (*container.Config, *container.HostConfig) {
	cfg := &container.Config{
		Image:      h.Image,
		Entrypoint: []string{h.Exe},
		Cmd:        []string{},
		Env:        append([]string(nil), h.Settings...),
		WorkingDir: "/",
		Labels:     h.Labels,
		// The handover goes in through stdin, which closes when the
		// launcher's attachment ends (StdinOnce).
		OpenStdin:    true,
		StdinOnce:    true,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
	}
	hostCfg := &container.HostConfig{
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
	}
	return cfg, hostCfg
}

// ID returns the helper container's id once it is created.
func (h *Helper) ID() string { return h.id }

// Started reports, once Run has returned, whether the helper got its
// handover, and so may have begun its work: an error of Run before that
// means nothing ran.
func (h *Helper) Started() bool { return h.started }

// Run creates, starts and waits for the helper, hands it over its
// environment, streams its output to Out, forwards a cancellation of ctx
// (SIGTERM, then a kill after stopGrace) and removes it whatever happens.
// It returns the helper's exit code.
func (h *Helper) Run(ctx context.Context) (int, error) {
	// The helper's own lifetime is managed here, not by ctx: cancelling
	// ctx means "stop the deploy", which the helper must be told and given
	// time for, not "drop the connection to it".
	bg := context.WithoutCancel(ctx)
	cfg, hostCfg := h.Config()
	resp, err := h.Docker.ContainerCreate(bg, cfg, hostCfg, nil, nil, h.Name)
	if err != nil && dockerdiag.Unanswered(err) {
		return 0, fmt.Errorf("failed to create the helper container %s: the Docker daemon did not answer: %w", h.Name, err)
	}
	if err != nil {
		return 0, fmt.Errorf("failed to create the helper container %s (--pid host --network host -v /:/host from image %s): %w. The Docker daemon must allow host namespaces and bind mounts of / (rootless Docker and userns-remap do not)", h.Name, shortID(h.Image), err)
	}
	h.id = resp.ID
	defer h.remove()

	// Wait is set up before the start so that an instant exit is seen;
	// "removed" because AutoRemove removes the helper on exit.
	waitC, waitErrC := h.Docker.ContainerWait(bg, h.id, container.WaitConditionRemoved)
	att, err := h.Docker.ContainerAttach(bg, h.id, container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return 0, fmt.Errorf("failed to attach to the helper container %s: %w", h.Name, err)
	}
	defer att.Close()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(h.Out, h.Out, att.Reader)
	}()

	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("cancelled before the helper started; nothing was changed: %w", err)
	}
	if err := h.Docker.ContainerStart(bg, h.id, container.StartOptions{}); err != nil {
		return 0, fmt.Errorf("failed to start the helper container %s: %w", h.Name, err)
	}
	if err := WriteHandover(att.Conn, h.Handover); err != nil {
		_ = h.Docker.ContainerKill(bg, h.id, "KILL")
		return 0, err
	}
	h.started = true
	done := make(chan struct{})
	defer close(done)
	if h.HoldStdin {
		go func() {
			select {
			case <-h.Release:
			case <-done:
			}
			_ = att.CloseWrite()
		}()
	} else if err := att.CloseWrite(); err != nil {
		_ = h.Docker.ContainerKill(bg, h.id, "KILL")
		return 0, fmt.Errorf("failed to hand over to the helper container %s: %w", h.Name, err)
	}

	stop := h.stopSignal(ctx, done)
	var code int
	select {
	case res := <-waitC:
		code = exitCode(res)
	case err := <-waitErrC:
		return 0, fmt.Errorf("failed to wait for the helper container %s: %w", h.Name, err)
	case why := <-stop:
		fmt.Fprintf(h.Out, "bluegreen: %s; telling the helper to stop its deploy\n", why)
		_ = h.Docker.ContainerKill(bg, h.id, "TERM")
		select {
		case res := <-waitC:
			code = exitCode(res)
		case err := <-waitErrC:
			return 0, fmt.Errorf("failed to wait for the helper container %s: %w", h.Name, err)
		case <-time.After(stopGrace):
			fmt.Fprintf(h.Out, "bluegreen: the helper did not stop within %s; killing it\n", stopGrace)
			code = 137
		}
	}
	select {
	case <-copied:
	case <-time.After(outputFlush):
	}
	return code, nil
}

// stopSignal fires when the deploy has to stop: ctx was cancelled (the
// runner's SIGINT/SIGTERM), or StopWhen said so.
func (h *Helper) stopSignal(ctx context.Context, done <-chan struct{}) <-chan string {
	stop := make(chan string, 2)
	go func() {
		select {
		case <-ctx.Done():
			stop <- "cancelled"
		case <-done:
		}
	}()
	if h.StopWhen != nil {
		if c := h.StopWhen(ctx, done); c != nil {
			go func() {
				select {
				case why := <-c:
					stop <- why
				case <-done:
				}
			}()
		}
	}
	return stop
}

// remove makes sure no helper is left, even when AutoRemove could not run
// (the wait was abandoned, the daemon restarted).
func (h *Helper) remove() {
	if h.id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := h.Docker.ContainerRemove(ctx, h.id, container.RemoveOptions{Force: true})
	// A daemon that does not answer (it is restarting) cannot be asked
	// now; AutoRemove removes the helper once it has exited.
	if err != nil && !cerrdefs.IsNotFound(err) && !strings.Contains(err.Error(), "is already in progress") && !dockerdiag.Unanswered(err) {
		fmt.Fprintf(h.Out, "bluegreen: failed to remove the helper container %s: %v; remove it with: docker rm -f %s\n", shortID(h.id), err, shortID(h.id))
	}
}

// exitCode is the helper's exit code; a wait that reports an error with
// status 0 counts as a failed deploy (cli.ExitFailed).
func exitCode(res container.WaitResponse) int {
	if res.Error != nil && res.Error.Message != "" && res.StatusCode == 0 {
		return 1
	}
	return int(res.StatusCode)
}

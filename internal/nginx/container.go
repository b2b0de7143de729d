package nginx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

// Errors about an nginx container's setup, which the user fixes in the
// compose file that runs nginx.
var (
	// ErrNginxContainer means the nginx container is missing or not running.
	ErrNginxContainer = errors.New("nginx container not usable")
	// ErrSingleFileMount means the include itself is bind-mounted as a
	// single file: the atomic rename replaces the host's directory entry,
	// but the container keeps the old inode and never sees the new include.
	ErrSingleFileMount = errors.New("the include is bind-mounted as a single file")
	// ErrIncludeNotMounted means the include's directory is in the
	// container's own file system, which the host cannot write in place
	// and which a recreated container loses.
	ErrIncludeNotMounted = errors.New("the include's directory is not mounted from the host")
	// ErrExecImpossible means Docker could not start a command in the
	// container at all (no such binary, exec forbidden), as opposed to the
	// command running and failing.
	ErrExecImpossible = errors.New("cannot run commands in the nginx container")
)

// DockerAPI is the part of the Docker client a containerised nginx needs.
type DockerAPI interface {
	ContainerInspect(ctx context.Context, container string) (container.InspectResponse, error)
	ContainerExecCreate(ctx context.Context, container string, options container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, options container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
	ContainerKill(ctx context.Context, container, signal string) error
}

// Container is an nginx that runs in a Docker container. The include is
// written on the host through the container's mount of its directory, and
// nginx -t and nginx -s reload run inside the container through the Engine
// API's exec, so the action needs neither the docker CLI nor a shell in
// the nginx image. The container's processes are visible in the host's
// /proc (the action's helper runs with --pid host), which is how the
// Switcher confirms the reload and the drain watches the old workers.
type Container struct {
	// Docker is the Engine API client.
	Docker DockerAPI
	// ID and Name identify the container (Name without the leading /).
	ID, Name string
	// PID is the host PID of the container's first process.
	PID int
	// Mounts are the container's mounts, from its inspect.
	Mounts []container.MountPoint
	// Networks are the user networks nginx is attached to, sorted. It is
	// empty with network_mode host, where nginx reaches published ports
	// on 127.0.0.1 instead.
	Networks []string
	// HostNetwork is true with network_mode host.
	HostNetwork bool
	// Procfs is where the container's processes are observed. Default "/proc".
	Procfs string
	// Warnf receives warnings, such as a skipped config test. Default: discard.
	Warnf func(format string, args ...any)

	pidNS string // the first process's PID namespace, "pid:[4026532180]"
}

// OpenContainer inspects the named container and returns it when it runs.
func OpenContainer(ctx context.Context, docker DockerAPI, nameOrID, procfs string) (*Container, error) {
	info, err := docker.ContainerInspect(ctx, nameOrID)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, fmt.Errorf("failed to find nginx container %q: %w: no such container; nginx-container must name the running nginx container (see docker ps)",
				nameOrID, ErrNginxContainer)
		}
		return nil, fmt.Errorf("failed to inspect nginx container %q: %w", nameOrID, err)
	}
	if info.ContainerJSONBase == nil || info.State == nil || !info.State.Running {
		state := "unknown"
		if info.ContainerJSONBase != nil && info.State != nil {
			state = string(info.State.Status)
		}
		return nil, fmt.Errorf("failed to use nginx container %q: %w: it is %s, not running; start it (docker start %s) and run the deploy again",
			nameOrID, ErrNginxContainer, state, nameOrID)
	}
	if procfs == "" {
		procfs = DefaultProcfs
	}
	c := &Container{
		Docker: docker,
		ID:     info.ID,
		Name:   strings.TrimPrefix(info.Name, "/"),
		PID:    info.State.Pid,
		Mounts: info.Mounts,
		Procfs: procfs,
	}
	if info.HostConfig != nil && info.HostConfig.NetworkMode.IsHost() {
		c.HostNetwork = true
	} else if info.NetworkSettings != nil {
		for name := range info.NetworkSettings.Networks {
			if name != "host" && name != "none" {
				c.Networks = append(c.Networks, name)
			}
		}
		sort.Strings(c.Networks)
	}
	if ns, err := os.Readlink(filepath.Join(procfs, strconv.Itoa(c.PID), "ns", "pid")); err == nil {
		c.pidNS = ns
	}
	return c, nil
}

// HostPath maps the include's path inside the container to the host path
// it is written at, through the mount that holds its directory: a bind
// mount's source or a volume's mountpoint. A single-file bind mount of the
// include, or an include on the container's own file system, is refused
// with the fix, because a deploy there would write a file nginx never reads.
func (c *Container) HostPath(inner string) (string, error) {
	if !path.IsAbs(inner) {
		return "", fmt.Errorf("failed to locate nginx include %q: it must be an absolute path inside container %s", inner, c.Name)
	}
	inner = path.Clean(inner)
	dir := path.Dir(inner)
	var best *container.MountPoint
	for i := range c.Mounts {
		m := &c.Mounts[i]
		dest := path.Clean(m.Destination)
		if dest == inner {
			return "", fmt.Errorf("failed to use nginx include %s in container %s: %w (%s): a deploy replaces the include by renaming a new file over it, "+
				"which a single-file mount never shows inside the container; mount its directory instead, for example "+
				"volumes: [\"%s:%s\"] in place of [\"%s:%s\"]",
				inner, c.Name, ErrSingleFileMount, describeMount(*m), filepath.Dir(m.Source), dir, m.Source, inner)
		}
		if dest == dir || strings.HasPrefix(dir, strings.TrimSuffix(dest, "/")+"/") {
			if best == nil || len(dest) > len(path.Clean(best.Destination)) {
				best = m
			}
		}
	}
	if best == nil {
		return "", fmt.Errorf("failed to use nginx include %s in container %s: %w: %s is part of the container's own file system, "+
			"which a deploy cannot replace durably (it is lost when the container is recreated); "+
			"mount the directory from the host, for example volumes: [\"./nginx/conf.d:%s\"]",
			inner, c.Name, ErrIncludeNotMounted, dir, dir)
	}
	if best.Type != mount.TypeBind && best.Type != mount.TypeVolume || best.Source == "" {
		return "", fmt.Errorf("failed to use nginx include %s in container %s: %w: %s is a %s mount, which the host cannot write; "+
			"mount a host directory or a local volume there, for example volumes: [\"./nginx/conf.d:%s\"]",
			inner, c.Name, ErrIncludeNotMounted, best.Destination, best.Type, dir)
	}
	rel := strings.TrimPrefix(inner, strings.TrimSuffix(path.Clean(best.Destination), "/"))
	host := filepath.Join(best.Source, filepath.FromSlash(rel))
	if fi, err := os.Stat(filepath.Dir(host)); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("failed to use nginx include %s in container %s: its directory is mounted from %s, which does not exist here: "+
			"the deploy must run on the Docker host (a self-hosted runner on the host that runs nginx): %w",
			inner, c.Name, filepath.Dir(host), errOrNotDir(err))
	}
	if fi, err := os.Lstat(host); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, err := os.Readlink(host); err == nil && filepath.IsAbs(target) {
			return "", fmt.Errorf("failed to use nginx include %s in container %s: it is a symbolic link to %s, a path inside the container; "+
				"point nginx-include-path at the file itself", inner, c.Name, target)
		}
	}
	return host, nil
}

func describeMount(m container.MountPoint) string {
	return fmt.Sprintf("%s mount of %s", m.Type, m.Source)
}

func errOrNotDir(err error) error {
	if err != nil {
		return err
	}
	return errors.New("not a directory")
}

// Owns reports whether the process pid runs in this container (in its PID
// namespace), so that the Switcher watches this nginx and not another one
// on the host whose config path happens to be the same.
func (c *Container) Owns(pid int) bool {
	if c.pidNS == "" {
		return true // the namespace could not be read: watch every master, as on the host
	}
	ns, err := os.Readlink(filepath.Join(c.procfs(), strconv.Itoa(pid), "ns", "pid"))
	return err == nil && ns == c.pidNS
}

func (c *Container) procfs() string {
	if c.Procfs == "" {
		return DefaultProcfs
	}
	return c.Procfs
}

func (c *Container) warnf(format string, args ...any) {
	if c.Warnf != nil {
		c.Warnf(format, args...)
	}
}

// Run runs args inside the container through the Engine API's exec; it is
// the Switcher's RunFunc. A command that runs and fails returns an
// *execx.Error with its exit code and output, as execx.Run does. Where
// Docker cannot start a command in the container at all, a reload falls
// back to sending SIGHUP to the container (only when its first process is
// the nginx master), and a config test is skipped with a warning when the
// master is visible, because the Switcher's confirmation then still
// catches a config the master rejects (it keeps its old workers) and puts
// the previous include back.
func (c *Container) Run(ctx context.Context, args []string) (execx.Result, error) {
	display := append([]string{"docker", "exec", c.Name}, args...)
	res, code, err := c.exec(ctx, args)
	if err == nil && code == 0 {
		return res, nil
	}
	if err == nil && !execFailedToStart(code, res) {
		return res, &execx.Error{Args: display, ExitCode: code, Output: res.Combined(), Err: fmt.Errorf("exit status %d", code)}
	}
	if err == nil {
		err = fmt.Errorf("%w: %s", ErrExecImpossible, res.Combined())
	}
	if !errors.Is(err, ErrExecImpossible) {
		return res, &execx.Error{Args: display, ExitCode: -1, Output: res.Combined(), Err: err}
	}
	switch {
	case isReload(args):
		if why := c.notMasterFirst(); why != "" {
			return res, &execx.Error{Args: display, ExitCode: -1, Err: fmt.Errorf("%w; SIGHUP is no way out either: %s", err, why)}
		}
		if kerr := c.Docker.ContainerKill(ctx, c.ID, "HUP"); kerr != nil {
			return res, &execx.Error{Args: display, ExitCode: -1, Err: fmt.Errorf("%w, and sending SIGHUP failed too: %w", err, kerr)}
		}
		c.warnf("could not exec %q in nginx container %s (%v); sent SIGHUP to its nginx master instead", strings.Join(args, " "), c.Name, err)
		return execx.Result{Stdout: "sent SIGHUP to container " + c.Name}, nil
	case isTest(args):
		if why := c.notMasterFirst(); why != "" {
			return res, &execx.Error{Args: display, ExitCode: -1, Err: fmt.Errorf("%w; the config cannot be tested, and the reload could not be confirmed either (%s)", err, why)}
		}
		c.warnf("could not exec %q in nginx container %s (%v); skipping the config test: the reload is confirmed by watching nginx's workers, "+
			"and a config the master rejects is put back; set nginx-test-command to the nginx binary's path inside the container to test first",
			strings.Join(args, " "), c.Name, err)
		return execx.Result{Stdout: "skipped: cannot exec in container " + c.Name}, nil
	}
	return res, &execx.Error{Args: display, ExitCode: -1, Err: err}
}

// exec runs args in the container and waits for it. err is set only when
// the command could not be run (it then wraps ErrExecImpossible when Docker
// refused to start it); otherwise code is its exit code.
func (c *Container) exec(ctx context.Context, args []string) (res execx.Result, code int, err error) {
	created, err := c.Docker.ContainerExecCreate(ctx, c.ID, container.ExecOptions{Cmd: args, AttachStdout: true, AttachStderr: true})
	if err != nil {
		if cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) || ctx.Err() != nil {
			return res, -1, fmt.Errorf("failed to exec in nginx container %s: %w", c.Name, err)
		}
		return res, -1, fmt.Errorf("%w: %w", ErrExecImpossible, err)
	}
	hj, err := c.Docker.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return res, -1, fmt.Errorf("failed to start exec in nginx container %s: %w", c.Name, err)
	}
	stop := context.AfterFunc(ctx, func() { hj.Close() })
	var stdout, stderr bytes.Buffer
	_, cerr := stdcopy.StdCopy(&stdout, &stderr, hj.Reader)
	stop()
	hj.Close()
	res = execx.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		return res, -1, fmt.Errorf("failed to exec in nginx container %s: %w", c.Name, ctx.Err())
	}
	if cerr != nil {
		return res, -1, fmt.Errorf("failed to read the output of exec in nginx container %s: %w", c.Name, cerr)
	}
	// The stream ends when the process exits; the exit code is set a
	// moment later.
	for i := 0; ; i++ {
		st, err := c.Docker.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return res, -1, fmt.Errorf("failed to read the exit code of exec in nginx container %s: %w", c.Name, err)
		}
		if !st.Running || i == 100 {
			return res, st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return res, -1, fmt.Errorf("failed to exec in nginx container %s: %w", c.Name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// execFailedToStart tells Docker's own failure to start the command (exit
// code 126 or 127 with the runtime's message) from the command's failure.
func execFailedToStart(code int, res execx.Result) bool {
	if code != 126 && code != 127 {
		return false
	}
	out := res.Combined()
	return strings.Contains(out, "OCI runtime exec failed") || strings.Contains(out, "executable file not found") ||
		strings.Contains(out, "no such file or directory")
}

// notMasterFirst says why SIGHUP to the container would not reach the
// nginx master ("" when it would): Docker signals the first process only.
func (c *Container) notMasterFirst() string {
	cmd, err := readCmdline(c.procfs(), c.PID)
	if err != nil {
		return fmt.Sprintf("the container's first process (pid %d) is not visible in %s, so neither a SIGHUP's target nor its effect can be checked; "+
			"run the deploy with the host's PID namespace (--pid host)", c.PID, c.procfs())
	}
	if !strings.HasPrefix(cmd, masterTitle) {
		return fmt.Sprintf("the container's first process is %q, not the nginx master (Docker signals only that one)", cmd)
	}
	return ""
}

func isReload(args []string) bool {
	for i, a := range args {
		if a == "-sreload" || a == "-s" && i+1 < len(args) && args[i+1] == "reload" {
			return true
		}
	}
	return false
}

func isTest(args []string) bool {
	for _, a := range args {
		if a == "-t" || a == "-T" || a == "-tq" || a == "-qt" {
			return true
		}
	}
	return false
}

// UpstreamIP picks the address of the new color's traffic container for
// {{.ContainerIP}}: its IP on the first of nginx's networks it is attached
// to (shared is true), because an IP on any other network is unreachable
// from an nginx container on a user network. Without a shared network it
// returns the IP on the network whose name sorts first, which the host
// (and nginx with network_mode host) reaches, so the choice is the same
// on every run.
func UpstreamIP(ips map[string]string, nginxNetworks []string) (ip string, shared bool) {
	for _, n := range nginxNetworks {
		if ip := ips[n]; ip != "" {
			return ip, true
		}
	}
	names := make([]string, 0, len(ips))
	for n, ip := range ips {
		if ip != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	sort.Strings(names)
	return ips[names[0]], false
}

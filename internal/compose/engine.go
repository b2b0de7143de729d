package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"

	"github.com/bluegreen-action/bluegreen/internal/build"
)

// Engine runs compose projects on one Docker daemon. Docker is the Engine
// API client; create it with client.WithAPIVersionNegotiation(), since the
// hosts we deploy to run engines as old as 20.10 (API 1.41).
type Engine struct {
	Docker Docker
	// Build says when EnsureImages builds a service that has build:
	// (default build.Auto, as docker compose up).
	Build build.Policy
	// Progress receives build output and notes about pulls and builds;
	// nil discards them.
	Progress Progress
	// Procfs is the host's /proc, read to say what holds a host port that
	// no container publishes (default /proc).
	Procfs string
}

// Container is what the deploy needs to know about one container of a
// project, taken from an inspect so that it is current.
type Container struct {
	ID, Name, Project, Service, Image string
	// State is Docker's: created, running, restarting, exited, dead...
	State        string
	Running      bool
	Restarting   bool
	ExitCode     int
	RestartCount int
	// Health is "" (no healthcheck), starting, healthy or unhealthy.
	Health string
	// HealthLog is the output of Docker's last healthcheck run, if any,
	// so that a failing healthcheck can say why.
	HealthLog string
	// IPs maps network name to the container's IPv4 address on it.
	IPs map[string]string
	// PublishedPorts are the host ports bound to the container, sorted.
	// Before start they are the configured ones; after, the actual ones.
	PublishedPorts []uint16
	// TCPPorts maps each published container TCP port to the host port
	// it is bound to, once the container runs: which port of a range each
	// replica got.
	TCPPorts map[int]int
	// HostRange says the container takes a host port from a range, which
	// Docker picks when it starts: such containers start one at a time.
	HostRange bool
	// DependsOn lists the services this one was started after, from the
	// com.docker.compose.depends_on label (empty for docker-compose v1).
	DependsOn []string
	// ImageID is the id of the image the container runs (sha256:…).
	ImageID string
	// DeployID is the bluegreen deploy that created the container, from
	// LabelDeployID (empty for containers made by other tools).
	DeployID string
	// Staged reports LabelStaged: mode stage created the container.
	Staged bool
	// Role is the service's role from LabelRole: colored, shared, job or
	// singleton; empty for containers made before roles or by other tools,
	// which are colored.
	Role string
}

// ErrNoSuchContainer is returned by Inspect and Logs for a container that
// does not exist (any more).
var ErrNoSuchContainer = errors.New("no such container")

// Inspect returns the current state of one container.
func (e *Engine) Inspect(ctx context.Context, id string) (Container, error) {
	info, err := e.Docker.ContainerInspect(ctx, id)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return Container{}, fmt.Errorf("failed to inspect container %s: %w", id, ErrNoSuchContainer)
		}
		return Container{}, fmt.Errorf("failed to inspect container %s: %w", id, err)
	}
	return fromInspect(info), nil
}

// List returns every container of a project, in any state, found by the
// com.docker.compose.project label alone, so that containers created by
// docker compose v2, docker-compose v1 or this package are all found. The
// result is sorted by service, then name. Containers a deploy has set
// aside (SetAside) are not the project's any more and are left out.
func (e *Engine) List(ctx context.Context, project string) ([]Container, error) {
	return e.list(ctx, project, false)
}

// Logs returns the last tail lines (all when tail <= 0) of a container's
// stdout and stderr as text, demultiplexed unless the container has a TTY.
func (e *Engine) Logs(ctx context.Context, id string, tail int) (string, error) {
	info, err := e.Docker.ContainerInspect(ctx, id)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("failed to read logs of container %s: %w", id, ErrNoSuchContainer)
		}
		return "", fmt.Errorf("failed to read logs of container %s: %w", id, err)
	}
	n := "all"
	if tail > 0 {
		n = strconv.Itoa(tail)
	}
	rc, err := e.Docker.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: n})
	if err != nil {
		return "", fmt.Errorf("failed to read logs of container %s: %w", id, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if info.Config != nil && info.Config.Tty {
		_, err = io.Copy(&buf, rc)
	} else {
		_, err = stdcopy.StdCopy(&buf, &buf, rc)
	}
	if err != nil {
		return buf.String(), fmt.Errorf("failed to read logs of container %s: %w", id, err)
	}
	return buf.String(), nil
}

func fromInspect(info container.InspectResponse) Container {
	c := Container{ID: info.ID, IPs: map[string]string{}}
	if info.ContainerJSONBase != nil {
		c.Name = strings.TrimPrefix(info.Name, "/")
		c.RestartCount = info.RestartCount
		if st := info.State; st != nil {
			c.State = string(st.Status)
			c.Running = st.Running
			c.Restarting = st.Restarting
			c.ExitCode = st.ExitCode
			if st.Health != nil {
				c.Health = string(st.Health.Status)
				if n := len(st.Health.Log); n > 0 && st.Health.Log[n-1] != nil {
					last := st.Health.Log[n-1]
					c.HealthLog = fmt.Sprintf("exit code %d: %s", last.ExitCode, strings.TrimSpace(last.Output))
				}
			}
		}
	}
	if info.Config != nil {
		c.Image = info.Config.Image
		c.Project = info.Config.Labels[LabelProject]
		c.Service = info.Config.Labels[LabelService]
		c.DependsOn = parseDependsOnLabel(info.Config.Labels[LabelDependsOn])
		c.DeployID = info.Config.Labels[LabelDeployID]
		c.Staged = info.Config.Labels[LabelStaged] == "true"
		c.Role = info.Config.Labels[LabelRole]
	}
	c.ImageID = info.Image
	if ns := info.NetworkSettings; ns != nil {
		for name, ep := range ns.Networks {
			if ep != nil {
				c.IPs[name] = ep.IPAddress
			}
		}
		c.PublishedPorts = hostPorts(ns.Ports)
		c.TCPPorts = tcpPorts(ns.Ports)
	}
	if info.ContainerJSONBase != nil && info.HostConfig != nil {
		c.HostRange = bindsRange(info.HostConfig.PortBindings)
	}
	if len(c.PublishedPorts) == 0 && info.ContainerJSONBase != nil && info.HostConfig != nil && !c.Running {
		c.PublishedPorts = hostPorts(info.HostConfig.PortBindings)
	}
	return c
}

// bindsRange reports a binding to a host port range ("8081-8083").
func bindsRange(m nat.PortMap) bool {
	for _, bindings := range m {
		for _, b := range bindings {
			if strings.Contains(b.HostPort, "-") {
				return true
			}
		}
	}
	return false
}

// tcpPorts maps container TCP ports to the first host port bound to each.
func tcpPorts(m nat.PortMap) map[int]int {
	out := map[int]int{}
	for port, bindings := range m {
		if port.Proto() != "tcp" {
			continue
		}
		for _, b := range bindings {
			if n, err := strconv.Atoi(b.HostPort); err == nil && n != 0 {
				out[port.Int()] = n
				break
			}
		}
	}
	return out
}

// hostPorts collects the distinct host ports of a port map, sorted. A
// binding whose port is not fixed yet (random or a range, before start) is
// left out.
func hostPorts(m nat.PortMap) []uint16 {
	seen := map[uint16]bool{}
	var out []uint16
	for _, bindings := range m {
		for _, b := range bindings {
			n, err := strconv.ParseUint(b.HostPort, 10, 16)
			if err != nil || n == 0 || seen[uint16(n)] {
				continue
			}
			seen[uint16(n)] = true
			out = append(out, uint16(n))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

package compose

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
)

// ErrPortInUse is returned by Up when a host port the project publishes is
// already taken, by another container or by a process on the host. The
// message names the holder where Docker knows it, because "port is already
// allocated" alone sends a user hunting through every container on the host.
var ErrPortInUse = errors.New("host port already in use")

// hostBinding is one fixed host port a service publishes.
type hostBinding struct {
	Service string
	HostIP  string
	Port    uint16
	Proto   string
}

func (b hostBinding) String() string {
	ip := b.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return fmt.Sprintf("%s:%d/%s", ip, b.Port, b.Proto)
}

// fixedBindings lists the host ports the project's services publish on a
// fixed port. Random ports ("8080" alone) and host ranges are left out:
// Docker picks a free one for them.
func fixedBindings(p *types.Project) []hostBinding {
	var out []hostBinding
	for _, name := range p.ServiceNames() {
		for _, pc := range p.Services[name].Ports {
			n, err := strconv.ParseUint(pc.Published, 10, 16)
			if err != nil || n == 0 {
				continue
			}
			proto := pc.Protocol
			if proto == "" {
				proto = "tcp"
			}
			out = append(out, hostBinding{Service: name, HostIP: pc.HostIP, Port: uint16(n), Proto: proto})
		}
	}
	return out
}

// ipsOverlap reports whether two bindings of the same port collide: they
// do unless both name different specific addresses.
func ipsOverlap(a, b string) bool {
	wildcard := func(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }
	return wildcard(a) || wildcard(b) || a == b
}

// portHolder is a running container that publishes a host port.
type portHolder struct {
	ID, Name, Project, Service string
}

func (h portHolder) String() string {
	if h.Project != "" {
		return fmt.Sprintf("container %s (compose project %s, service %s)", h.Name, h.Project, h.Service)
	}
	return "container " + h.Name
}

// portHolders returns the running containers, other than except, that
// publish b's port on an overlapping address.
func (e *Engine) portHolders(ctx context.Context, b hostBinding, except string) ([]portHolder, error) {
	list, err := e.Docker.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list containers to find who holds host port %s: %w", b, err)
	}
	var out []portHolder
	for _, c := range list {
		if c.ID == except {
			continue
		}
		for _, p := range c.Ports {
			if p.PublicPort == b.Port && p.Type == b.Proto && ipsOverlap(p.IP, b.HostIP) {
				name := c.ID[:12]
				if len(c.Names) > 0 {
					name = strings.TrimPrefix(c.Names[0], "/")
				}
				out = append(out, portHolder{ID: c.ID, Name: name, Project: c.Labels[LabelProject], Service: c.Labels[LabelService]})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// checkPublishedPorts fails before anything is created when a running
// container already publishes a fixed host port of the project, naming
// that container.
func (e *Engine) checkPublishedPorts(ctx context.Context, p *types.Project) error {
	var problems []string
	for _, b := range fixedBindings(p) {
		holders, err := e.portHolders(ctx, b, "")
		if err != nil {
			return err
		}
		for _, h := range holders {
			problems = append(problems, portTakenMessage(b, h))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("failed to start project %s: %w: %s", p.Name, ErrPortInUse, strings.Join(problems, "; "))
}

func portTakenMessage(b hostBinding, h portHolder) string {
	return fmt.Sprintf("service %s publishes host port %s, which %s already publishes: stop that container (docker stop %s) or publish another host port", b.Service, b, h, h.Name)
}

// Docker's words for a host port that is taken, from engines 20.10 to 28.
var (
	allocatedRe = regexp.MustCompile(`Bind for ([0-9a-fA-F.:\[\]]*):(\d+) failed: port is already allocated`)
	listenRe    = regexp.MustCompile(`listen (tcp|udp)[46]? ([0-9a-fA-F.:\[\]]*):(\d+): bind: address already in use`)
	// The address is matched lazily: the message goes on with the container's address.
	bindHostRe = regexp.MustCompile(`failed to bind host port (?:for )?([0-9a-fA-F.:\[\]]*?):(\d+)`)
)

// explainStartError turns the engine's error for a taken host port into
// one that names the holder: a container when Docker knows one, otherwise
// a process on the host, with the command that finds it. Other errors are
// returned as they are.
func (e *Engine) explainStartError(ctx context.Context, s types.ServiceConfig, id string, err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "port is already allocated") && !strings.Contains(msg, "address already in use") {
		return err
	}
	candidates := fixedBindings(&types.Project{Services: types.Services{s.Name: s}})
	if port, ok := takenPort(msg); ok {
		var match []hostBinding
		for _, b := range candidates {
			if b.Port == port {
				match = append(match, b)
			}
		}
		if len(match) > 0 {
			candidates = match
		}
	}
	for _, b := range candidates {
		holders, herr := e.portHolders(context.WithoutCancel(ctx), b, id)
		if herr != nil || len(holders) == 0 {
			continue
		}
		return fmt.Errorf("%w: %s: %v", ErrPortInUse, portTakenMessage(b, holders[0]), err)
	}
	if len(candidates) == 1 {
		b := candidates[0]
		return fmt.Errorf("%w: service %s publishes host port %s, %s: %v", ErrPortInUse, s.Name, b, describeHostHolder(e.procfs(), b), err)
	}
	var ports []string
	for _, b := range candidates {
		ports = append(ports, b.String())
	}
	return fmt.Errorf("%w: one of the host ports service %s publishes (%s) is in use by a process on the host (not a container): find it with `ss -ltnp` and stop it, or publish other host ports: %v", ErrPortInUse, s.Name, strings.Join(ports, ", "), err)
}

// procfs is where the host's process table is mounted: the deploy runs in
// the host's namespaces (see internal/hoist), so /proc is the host's.
func (e *Engine) procfs() string {
	if e.Procfs != "" {
		return e.Procfs
	}
	return "/proc"
}

// takenPort reads the host port out of Docker's error.
func takenPort(msg string) (uint16, bool) {
	for _, re := range []*regexp.Regexp{allocatedRe, listenRe, bindHostRe} {
		m := re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		n, err := strconv.ParseUint(m[len(m)-1], 10, 16)
		if err == nil {
			return uint16(n), true
		}
	}
	return 0, false
}

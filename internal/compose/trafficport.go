package compose

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// PublishOnColorPort makes a compose file written for `docker compose up`
// deploy unchanged: when the traffic service does not publish the color's
// host port but publishes exactly one port on a fixed host port ("3000:8080",
// "127.0.0.1:3000:8080"), that container port is published on the color's
// port instead, keeping the host IP, since both colors run side by side
// during a deploy and nginx sends the traffic anyway. It returns one line
// for the log saying so, or "" when the service already publishes port (as
// with ${BLUEGREEN_PORT}) or does not fit the rule, which the deploy then
// reports as before.
func PublishOnColorPort(p *types.Project, service string, port int, color string) string {
	s, ok := p.Services[service]
	if !ok {
		return ""
	}
	fixed := -1
	for i, pc := range s.Ports {
		if pc.Published == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(pc.Published, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return ""
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return ""
			}
		}
		if port >= a && port <= b && (pc.Protocol == "" || pc.Protocol == "tcp") {
			return "" // it publishes the color's port already
		}
		if fixed >= 0 || isRange || (pc.Protocol != "" && pc.Protocol != "tcp") {
			return ""
		}
		fixed = i
	}
	if fixed < 0 {
		return ""
	}
	ports := append([]types.ServicePortConfig(nil), s.Ports...)
	pc := ports[fixed]
	was := pc.Published + ":" + strconv.Itoa(int(pc.Target))
	if pc.HostIP != "" {
		was = hostForPort(pc.HostIP) + ":" + was
	}
	pc.Published = strconv.Itoa(port)
	ports[fixed] = pc
	s.Ports = ports
	p.Services[service] = s
	return fmt.Sprintf("service %s publishes %s in the compose file; %s publishes container port %d on %s instead (%s-port), so that both colors can run side by side and nginx sends the traffic",
		service, was, color, pc.Target, net.JoinHostPort(orAll(pc.HostIP), pc.Published), color)
}

func hostForPort(ip string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]"
	}
	return ip
}

func orAll(ip string) string {
	if ip == "" {
		return "0.0.0.0"
	}
	return ip
}

// NameContainersByColor makes a fixed container_name of a service that
// runs in each color (colored, jobs, singletons) the color's own, when the
// name does not already say the color: blue and green run side by side,
// and two containers cannot share a name. container_name: app becomes
// app-blue in blue and app-green in green; app-${BLUEGREEN_COLOR} and the
// seed's app-blue are left as written. A shared service keeps its name:
// it runs once. It returns one line for the log per renamed service.
func NameContainersByColor(p *types.Project, roles Roles, color string) []string {
	var notes []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.ContainerName == "" || roles.Of(name) == Shared || strings.Contains(s.ContainerName, color) {
			continue
		}
		was := s.ContainerName
		s.ContainerName = was + "-" + color
		p.Services[name] = s
		notes = append(notes, fmt.Sprintf("service %s sets container_name %q; %s names it %q, since both colors run side by side", name, was, color, s.ContainerName))
	}
	return notes
}

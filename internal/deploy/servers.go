package deploy

// A traffic service with replicas: several containers, each published on
// its own host port from the range the compose file gives. All of them are
// health-checked before the switch, and all of them are rendered into the
// include ({{range .Servers}}).

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// server is one container of the traffic service and where it is probed.
type server struct {
	Container compose.Container
	Port      int    // its host port
	URL       string // http://<upstream-host>:<Port>
}

// servers returns the containers of p's traffic service: the traffic
// container alone, unless the service runs several, each of which must
// then publish the app's port on a host port of its own.
func (r *run) servers(ctx context.Context, p *plan, traffic compose.Container) ([]server, error) {
	single := []server{{Container: traffic, Port: p.HostPort, URL: p.URL}}
	if traffic.ID == "" {
		return single, nil
	}
	all, err := r.d.Engine.List(ctx, r.cfg.ProjectFor(p.Color))
	if err != nil {
		if ctx.Err() != nil {
			return single, nil // the wait that follows reports why
		}
		return nil, err
	}
	var mine []compose.Container
	for _, c := range all {
		if c.Service == p.Service {
			mine = append(mine, c)
		}
	}
	if len(mine) <= 1 {
		return single, nil
	}
	var out []server
	for _, c := range mine {
		port := c.TCPPorts[p.ContainerPort]
		if port == 0 {
			return nil, fmt.Errorf("container %s of service %s publishes no host port for the app's port %d; every replica of the traffic service must publish it from a range (for example ports: [\"8081-8083:%d\"])", c.Name, p.Service, p.ContainerPort, p.ContainerPort)
		}
		out = append(out, server{Container: c, Port: port, URL: "http://" + net.JoinHostPort(r.cfg.UpstreamHost, strconv.Itoa(port))})
	}
	return out, nil
}

// serverData is the include's view of the servers.
func (r *run) serverData(p *plan, servers []server) []nginx.Server {
	out := make([]nginx.Server, 0, len(servers))
	for _, s := range servers {
		ip, _ := nginx.UpstreamIP(s.Container.IPs, r.d.NginxNetworks)
		name := s.Container.Name
		if name == "" {
			name = p.ContainerName
		}
		out = append(out, nginx.Server{Host: r.cfg.UpstreamHost, Port: s.Port, URL: s.URL, ContainerName: name, ContainerIP: ip, ContainerPort: p.ContainerPort})
	}
	return out
}

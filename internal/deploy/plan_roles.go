package deploy

// The services' roles in a deploy: which service takes the traffic, what
// the inputs declare, and what a color runs.

import (
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/compose"
)

// declaredRoles is what the inputs say of the services' roles: the
// traffic service, and the shared-services and singleton-services inputs
// (config checks each is a service name; ClassifyServices that it is one
// of the compose file's, naming the input and the services that exist).
func (r *run) declaredRoles(traffic string) compose.Declared {
	return compose.Declared{Traffic: traffic, Shared: r.cfg.Roles.Shared, Singletons: r.cfg.Roles.Singletons}
}

// trafficService returns the named service, or the only one that
// publishes a port. A service declared shared or singleton publishes its
// ports for something else (a database's port for an admin tool), so it
// does not count.
func trafficService(p *types.Project, name string, declared compose.Declared) (types.ServiceConfig, error) {
	if name != "" {
		svc, ok := p.Services[name]
		if !ok {
			return svc, fmt.Errorf("service %q is not defined; the project has: %s", name, strings.Join(p.ServiceNames(), ", "))
		}
		return svc, nil
	}
	roles, _ := compose.ClassifyServices(p, declared) // its problems are reported once the traffic service is known
	var publishing []string
	for _, n := range p.ServiceNames() {
		if role := roles.Of(n); role == compose.Shared || role == compose.Singleton {
			continue
		}
		if len(p.Services[n].Ports) > 0 {
			publishing = append(publishing, n)
		}
	}
	switch len(publishing) {
	case 1:
		return p.Services[publishing[0]], nil
	case 0:
		return types.ServiceConfig{}, fmt.Errorf("no service publishes a port, so none can take traffic: publish the web service's port (for example ports: [\"8081:8080\"]) or set service")
	default:
		return types.ServiceConfig{}, fmt.Errorf("several services publish ports (%s): set service to the one nginx sends traffic to", strings.Join(publishing, ", "))
	}
}

// coloredServices are the services a color runs: its colored services and
// jobs, and its singletons.
func coloredServices(p *plan) types.Services {
	out := types.Services{}
	for _, part := range []*types.Project{p.Project, p.Singletons} {
		if part != nil {
			for name, s := range part.Services {
				out[name] = s
			}
		}
	}
	return out
}

package compose

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
)

// ErrExternalLink is returned by Up for an external_links entry that
// cannot resolve: the container does not exist, or shares no network with
// the service, so its alias would resolve to nothing.
var ErrExternalLink = fmt.Errorf("external link cannot resolve")

// checkExternalLinks fails before anything is created when an external
// link names a container that does not exist or that the service shares
// no network with. Docker accepts such a link and the alias then silently
// resolves to nothing, which is the kind of failure a deploy should name.
func (e *Engine) checkExternalLinks(ctx context.Context, p *types.Project) error {
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		for _, l := range s.ExternalLinks {
			target, _, _ := strings.Cut(l, ":")
			info, err := e.Docker.ContainerInspect(ctx, target)
			if cerrdefs.IsNotFound(err) {
				return fmt.Errorf("failed to start project %s: %w: service %s links to container %s (external_links), which does not exist: start it first, or remove the link", p.Name, ErrExternalLink, name, target)
			}
			if err != nil {
				return fmt.Errorf("failed to inspect container %s that service %s links to: %w", target, name, err)
			}
			var theirs []string
			if info.NetworkSettings != nil {
				for n := range info.NetworkSettings.Networks {
					theirs = append(theirs, n)
				}
			}
			sort.Strings(theirs)
			ours := serviceNetworkNames(p, s)
			if shareOne(theirs, ours) {
				continue
			}
			return fmt.Errorf("failed to start project %s: %w: service %s links to container %s (external_links), but they share no network (%s is on %s; the service on %s): "+
				"attach the service to one of that container's networks (networks: with external: true)", p.Name, ErrExternalLink, name, target, target, orNone(theirs), orNone(ours))
		}
	}
	return nil
}

func shareOne(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// serviceNetworkNames are the Docker networks a service's containers join.
func serviceNetworkNames(p *types.Project, s types.ServiceConfig) []string {
	if s.NetworkMode != "" {
		return []string{s.NetworkMode}
	}
	var out []string
	for key := range s.Networks {
		out = append(out, p.Networks[key].Name)
	}
	sort.Strings(out)
	return out
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "no network"
	}
	return strings.Join(list, ", ")
}

package compose

import (
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// LabelRole is bluegreen's label naming a container's role (colored,
// shared, job or singleton), so that what runs on a host can be told
// apart without the compose files: Start never reruns a finished job, and
// status or image pruning can see what is shared.
const LabelRole = "io.github.bluegreen-action.role"

// SharedProjectName is the compose project an app's shared services run
// in. It is a project of its own, beside <base>-blue and <base>-green,
// rather than <base> itself: `docker compose -p <base>-shared ps` lists
// exactly what runs once per host, nothing a deploy removes can be in it,
// and a project <base> that the app ran as before adopting bluegreen
// (`docker compose up` without -p, say) is never mistaken for it. Its
// named volumes keep the name docker compose gives them for <base>, so the
// data of such an earlier project is the data the shared services find.
func SharedProjectName(base string) string { return base + "-shared" }

// Parts is one color's project split by role, each part ready for Up (or
// Converge).
type Parts struct {
	// Color holds the colored services and the jobs: what Up starts in the
	// new color before the switch. Its services reach the shared ones by
	// their service names and wait for them as depends_on says.
	Color *types.Project
	// Singletons holds the color's singletons under the color's project
	// name, nil when there are none: Up it after the switch, once the old
	// color's singletons have stopped.
	Singletons *types.Project
	// Shared holds the shared services as project SharedProjectName(base),
	// nil when there are none: Converge it before the colors start.
	Shared *types.Project
}

// splitKey is the project extension under which SplitProject leaves what
// Up needs to know about the other parts.
const splitKey = "x-bluegreen-split"

// splitInfo is what a part knows of the others.
type splitInfo struct {
	// Base is the app's project name; a named volume of the app is
	// <Base>_<key>, labelled with project Base, as docker compose names it.
	Base string
	// Outside maps a service of another part to its project, so that a
	// depends_on on it is waited for.
	Outside map[string]string
	// SharedNetworks are the network keys added so that a colored service
	// reaches the shared services: it joins them under its container name
	// only, so that blue's services never answer to green's service names.
	SharedNetworks map[string]bool
}

func infoOf(p *types.Project) *splitInfo {
	if p == nil {
		return nil
	}
	info, _ := p.Extensions[splitKey].(*splitInfo)
	return info
}

// SplitProject splits a loaded color project (named <base>-<color>) into
// the parts its roles run in. Named volumes become <base>_<key>, one
// volume for both colors and the shared services, unless external or
// named in the file. Shared services keep their container_name, host
// ports and networks as written; their networks are the shared project's
// (<base>-shared_<key>), and every colored service on such a network also
// joins it, so that "db" resolves to the shared database in both colors. A
// reference from one part to a service of another (network_mode, ipc, pid,
// volumes_from, links) names that service's container instead, and
// depends_on on it is waited for in its project by Up.
func SplitProject(p *types.Project, base string, roles Roles) (Parts, error) {
	if base == "" {
		return Parts{}, fmt.Errorf("failed to split project %s: no base project name", p.Name)
	}
	shared := SharedProjectName(base)
	var parts Parts
	var sharedNames, singletonNames, colorNames []string
	for _, name := range p.ServiceNames() {
		switch roles.Of(name) {
		case Shared:
			sharedNames = append(sharedNames, name)
		case Singleton:
			singletonNames = append(singletonNames, name)
		default:
			colorNames = append(colorNames, name)
		}
	}
	projectOf := map[string]string{}
	containerOf := map[string]string{}
	for _, name := range p.ServiceNames() {
		project := p.Name
		if roles.Of(name) == Shared {
			project = shared
		}
		projectOf[name] = project
		containerOf[name] = containerName(project, p.Services[name], 1)
	}
	sharedNets := map[string]bool{}
	for _, name := range sharedNames {
		for key := range p.Services[name].Networks {
			sharedNets[key] = true
		}
	}
	var err error
	if len(sharedNames) > 0 {
		if parts.Shared, err = part(p, shared, base, sharedNames, roles, projectOf, containerOf); err != nil {
			return Parts{}, err
		}
		for key, n := range parts.Shared.Networks {
			if !n.External && n.Name == p.Name+"_"+key {
				n.Name = shared + "_" + key
				parts.Shared.Networks[key] = n
			}
		}
	}
	if parts.Color, err = part(p, p.Name, base, colorNames, roles, projectOf, containerOf); err != nil {
		return Parts{}, err
	}
	joinSharedNetworks(parts.Color, parts.Shared, sharedNets)
	if len(singletonNames) > 0 {
		if parts.Singletons, err = part(p, p.Name, base, singletonNames, roles, projectOf, containerOf); err != nil {
			return Parts{}, err
		}
		joinSharedNetworks(parts.Singletons, parts.Shared, sharedNets)
	}
	return parts, nil
}

// part copies p with only the named services, under project name.
func part(p *types.Project, name, base string, services []string, roles Roles, projectOf, containerOf map[string]string) (*types.Project, error) {
	q, err := p.WithServicesTransform(func(_ string, s types.ServiceConfig) (types.ServiceConfig, error) { return s, nil })
	if err != nil {
		return nil, fmt.Errorf("failed to copy project %s: %w", p.Name, err)
	}
	q.Name = name
	keep := map[string]bool{}
	for _, s := range services {
		keep[s] = true
	}
	info := &splitInfo{Base: base, Outside: map[string]string{}, SharedNetworks: map[string]bool{}}
	for svcName, s := range q.Services {
		if !keep[svcName] {
			delete(q.Services, svcName)
			continue
		}
		labels := types.Labels{}
		for k, v := range s.CustomLabels {
			labels[k] = v
		}
		labels[LabelProject] = name
		labels[LabelRole] = roles.Of(svcName).String()
		s.CustomLabels = labels
		if s.Build != nil && name != p.Name {
			// docker compose's name for a built image of this project: a
			// shared service is built once and kept, not per deploy.
			if repo, _, _ := strings.Cut(s.Image, ":"); repo == defaultImageName(p.Name, svcName) {
				s.Image = defaultImageName(name, svcName)
			}
		}
		outside := func(ref string) (string, bool) {
			if keep[ref] {
				return "", false
			}
			c, ok := containerOf[ref]
			return c, ok
		}
		s = pointRefsOutside(s, outside)
		for dep := range s.DependsOn {
			if !keep[dep] {
				info.Outside[dep] = projectOf[dep]
			}
		}
		q.Services[svcName] = s
	}
	for key, v := range q.Volumes {
		if !v.External && v.Name == p.Name+"_"+key {
			v.Name = base + "_" + key
			q.Volumes[key] = v
		}
	}
	if q.Extensions == nil {
		q.Extensions = types.Extensions{}
	}
	q.Extensions[splitKey] = info
	return q, nil
}

// pointRefsOutside rewrites references to services of another part to the
// container that service runs (its first one): network_mode, ipc and pid
// service:<name> become container:<name>, volumes_from <service> becomes
// container:<name>, and links become external_links under the same alias.
func pointRefsOutside(s types.ServiceConfig, outside func(service string) (string, bool)) types.ServiceConfig {
	ns := func(v string) string {
		if ref, ok := strings.CutPrefix(v, types.ServicePrefix); ok {
			if c, out := outside(ref); out {
				return types.ContainerPrefix + c
			}
		}
		return v
	}
	s.NetworkMode, s.Ipc, s.Pid = ns(s.NetworkMode), ns(s.Ipc), ns(s.Pid)
	var from []string
	for _, v := range s.VolumesFrom {
		ref, mode, err := parseVolumesFrom(v)
		if err == nil && ref.service != "" {
			if c, out := outside(ref.service); out {
				v = types.ContainerPrefix + c
				if mode != "" {
					v += ":" + mode
				}
			}
		}
		from = append(from, v)
	}
	s.VolumesFrom = from
	var links []string
	for _, l := range s.Links {
		svc, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = svc
		}
		if c, out := outside(svc); out {
			s.ExternalLinks = append(s.ExternalLinks, c+":"+alias)
			continue
		}
		links = append(links, l)
	}
	s.Links = links
	return s
}

// joinSharedNetworks attaches every service of q that is on a network the
// shared services use to that network as the shared project has it too:
// a network of the project gets a second key pointing at the shared
// project's network (external to the color), one with a fixed name is the
// shared project's and external to the color.
func joinSharedNetworks(q, shared *types.Project, keys map[string]bool) {
	if shared == nil || q == nil {
		return
	}
	info := infoOf(q)
	for _, key := range sortedKeys(keys) {
		n, ok := q.Networks[key]
		if !ok || bool(n.External) {
			continue
		}
		sn := shared.Networks[key]
		if sn.Name == n.Name {
			// A fixed name: one network, which the shared project owns.
			n.External = true
			q.Networks[key] = n
			continue
		}
		extra := "bluegreen-shared-" + key
		for i := 2; ; i++ {
			if _, taken := q.Networks[extra]; !taken {
				break
			}
			extra = fmt.Sprintf("bluegreen-shared-%s-%d", key, i)
		}
		attached := false
		for name, s := range q.Services {
			if _, on := s.Networks[key]; !on || s.NetworkMode != "" {
				continue
			}
			// Below every network of the file, so that the color's own
			// network stays the container's primary one.
			nets := map[string]*types.ServiceNetworkConfig{}
			lowest := 0
			for k, v := range s.Networks {
				nets[k] = v
				if v != nil && v.Priority < lowest {
					lowest = v.Priority
				}
			}
			nets[extra] = &types.ServiceNetworkConfig{Priority: lowest - 1}
			s.Networks = nets
			q.Services[name] = s
			attached = true
		}
		if attached {
			q.Networks[extra] = types.NetworkConfig{Name: sn.Name, External: true}
			info.SharedNetworks[extra] = true
		}
	}
}

// WithoutJobs returns a copy of a color's project without its jobs, for a
// host of a fleet after the first: a job runs once per rollout, and the
// services that wait for it start as if it had completed there too.
func WithoutJobs(p *types.Project, roles Roles) (*types.Project, error) {
	q, err := p.WithServicesTransform(func(_ string, s types.ServiceConfig) (types.ServiceConfig, error) {
		deps := types.DependsOnConfig{}
		for name, d := range s.DependsOn {
			if roles.Of(name) != Job {
				deps[name] = d
			}
		}
		s.DependsOn = deps
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("failed to copy project %s: %w", p.Name, err)
	}
	for _, name := range roles.Services(Job) {
		delete(q.Services, name)
	}
	if info := infoOf(p); info != nil {
		q.Extensions[splitKey] = info
	}
	return q, nil
}

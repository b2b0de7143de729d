package compose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

var (
	// ErrNameInUse is returned by Up when a container, network or volume
	// it must create exists but belongs to something else.
	ErrNameInUse = errors.New("name already in use")
	// ErrNotFound is returned by Up for an external network or volume
	// that does not exist.
	ErrNotFound = errors.New("not found")
)

// pollInterval is how often Up re-inspects a dependency it waits for. An
// inspect costs the daemon about a millisecond; a dependent starts at most
// this long after its dependency became healthy or completed (docker
// compose v2 polls every 500 ms): a migration job's dependents start
// about as soon as it exited.
const pollInterval = 25 * time.Millisecond

// Up creates the project's networks and volumes, creates every service's
// containers (scale or deploy.replicas of them, one by default), and
// starts them in depends_on order, independent services in parallel,
// waiting for each dependency's condition (started, healthy or completed
// successfully) first. It stops and removes nothing: a container name that
// is taken is an error, because the caller decides what may be removed. It
// runs Check first. Up does not wait for the last services to become
// healthy; that is the caller's health check. Waiting for dependencies is
// bounded by ctx only. A fixed host port that a running container already
// publishes fails Up before anything is created, and one a host process
// holds fails the start; both with ErrPortInUse, naming the holder where
// Docker or the host's /proc knows it.
//
// On error every container created so far is returned too, started or
// not, so the caller can show their logs and Down the project.
func (e *Engine) Up(ctx context.Context, p *types.Project) ([]Container, error) {
	if err := Check(p); err != nil {
		return nil, err
	}
	if err := e.CheckPlatforms(ctx, p); err != nil {
		return nil, err
	}
	names := p.ServiceNames()
	deps := projectDeps(p)
	if hasCycle(names, deps) {
		return nil, fmt.Errorf("failed to start project %s: depends_on has a cycle", p.Name)
	}
	if err := e.checkPublishedPorts(ctx, p); err != nil {
		return nil, err
	}
	if err := e.checkExternalLinks(ctx, p); err != nil {
		return nil, err
	}
	if err := e.ensureNetworks(ctx, p); err != nil {
		return nil, err
	}
	if err := e.ensureVolumes(ctx, p); err != nil {
		return nil, err
	}
	specs, err := e.createSpecs(ctx, p)
	if err != nil {
		return nil, err
	}
	ids, err := e.createAll(ctx, p, names, specs)
	if err != nil {
		return e.inspectAll(ctx, names, ids), err
	}
	var rangeMu sync.Mutex
	// Dependencies the file does not state (StartFirst) are optional:
	// they order the starts, a failure of one stops nothing.
	g := graph{nodes: names, deps: withStartFirst(p, deps), optional: func(node, dep string) bool {
		return !p.Services[node].DependsOn[dep].Required
	}}
	err = g.run(ctx, func(ctx context.Context, name string) error {
		if err := e.waitDependencies(ctx, p, p.Services[name], ids); err != nil {
			return err
		}
		list := ids[name]
		return eachAtOnce(len(list), func(i int) error {
			return e.startContainer(ctx, p.Services[name], specs[name][i], list[i], &rangeMu)
		})
	})
	containers := e.inspectAll(ctx, names, ids)
	if err != nil {
		return containers, fmt.Errorf("failed to start project %s: %w", p.Name, err)
	}
	return containers, nil
}

// startContainer starts one created container. Containers that take a
// host port from a range start one at a time, so that two of them never
// race for the same free port (docker/compose#7188: replicas of a service
// published on a range fail with "port is already allocated" when they
// start together). Every other start runs in parallel, the replicas of a
// service too: on a loaded host one start takes a second or more.
func (e *Engine) startContainer(ctx context.Context, s types.ServiceConfig, spec createSpec, id string, rangeMu *sync.Mutex) error {
	if publishesHostRange(s) {
		rangeMu.Lock()
		defer rangeMu.Unlock()
	}
	if err := e.Docker.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		err = e.explainStartError(ctx, s, id, err)
		return fmt.Errorf("failed to start container %s of service %s: %w", spec.Name, s.Name, err)
	}
	return nil
}

// createAll creates every container; nothing starts before all exist, so
// a taken name fails the Up before any service runs. A service whose
// containers another one's network_mode, ipc, pid, volumes_from or links
// name is created before that one, since Docker resolves those references
// at create; the rest are created in parallel. It returns the ids of the
// containers it created, by service and number, also on error.
func (e *Engine) createAll(ctx context.Context, p *types.Project, names []string, specs map[string][]createSpec) (map[string][]string, error) {
	var mu sync.Mutex
	ids := map[string][]string{}
	refs := map[string][]string{}
	for _, name := range names {
		refs[name] = serviceRefs(p.Services[name])
	}
	lookup := func(service string) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		if list := ids[service]; len(list) > 0 && list[0] != "" {
			return list[0], true
		}
		return "", false
	}
	err := graph{nodes: names, deps: refs}.run(ctx, func(ctx context.Context, name string) error {
		list := specs[name]
		created := make([]string, len(list))
		errs := make([]error, len(list))
		var wg sync.WaitGroup
		for i := range list {
			wg.Add(1)
			go func() {
				defer wg.Done()
				spec := list[i]
				if err := resolveServiceRefs(spec.Host, lookup); err != nil {
					errs[i] = fmt.Errorf("failed to create container %s of service %s: %w", spec.Name, name, err)
					return
				}
				created[i], errs[i] = e.createContainer(ctx, p.Services[name], spec)
			}()
		}
		wg.Wait()
		mu.Lock()
		for _, id := range created {
			if id != "" {
				ids[name] = append(ids[name], id)
			}
		}
		mu.Unlock()
		return errors.Join(errs...)
	})
	return ids, err
}

// publishesHostRange reports a service that publishes a host port range,
// from which Docker picks a free port when the container starts.
func publishesHostRange(s types.ServiceConfig) bool {
	for _, pc := range s.Ports {
		if strings.Contains(pc.Published, "-") {
			return true
		}
	}
	return false
}

// inspectAll inspects the created containers, in service order, keeping
// what it can: it serves error paths too.
func (e *Engine) inspectAll(ctx context.Context, names []string, ids map[string][]string) []Container {
	var out []Container
	for _, name := range names {
		for _, id := range ids[name] {
			c, err := e.Inspect(context.WithoutCancel(ctx), id)
			if err != nil {
				c = Container{ID: id, Service: name}
			}
			out = append(out, c)
		}
	}
	return out
}

// createSpecs resolves each service's image and builds the create calls
// of each of its containers. Resolving first means a missing image or
// secret file fails before anything is created.
func (e *Engine) createSpecs(ctx context.Context, p *types.Project) (map[string][]createSpec, error) {
	specs := map[string][]createSpec{}
	imageIDs := map[string]string{} // services of one image inspect it once
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		s.Image = imageOf(p, s)
		id, err := e.imageID(ctx, s.Image, imageIDs)
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				return nil, fmt.Errorf("failed to create service %s: %w: image %s is not present locally; pull or build it first (EnsureImages)", name, ErrImageMissing, s.Image)
			}
			return nil, fmt.Errorf("failed to inspect image %s of service %s: %w", s.Image, name, err)
		}
		if err := checkFileSources(p, s); err != nil {
			return nil, err
		}
		for n := 1; n <= replicas(s); n++ {
			spec, err := buildCreateSpec(p, s, n, id, e.Docker.ClientVersion())
			if err != nil {
				return nil, err
			}
			specs[name] = append(specs[name], spec)
		}
	}
	return specs, nil
}

// imageID returns the id of image ref, inspecting it only when seen does
// not hold it yet.
func (e *Engine) imageID(ctx context.Context, ref string, seen map[string]string) (string, error) {
	if id, ok := seen[ref]; ok {
		return id, nil
	}
	img, err := e.Docker.ImageInspect(ctx, ref)
	if err != nil {
		return "", err
	}
	seen[ref] = img.ID
	return img.ID, nil
}

// createContainer creates one container, connects its extra networks and
// writes its secrets and configs. On error after the create it returns the
// id too, so that the container is taken down with the rest.
func (e *Engine) createContainer(ctx context.Context, s types.ServiceConfig, spec createSpec) (string, error) {
	resp, err := e.Docker.ContainerCreate(ctx, spec.Config, spec.Host, spec.Networking, nil, spec.Name)
	if err != nil {
		if cerrdefs.IsConflict(err) {
			return "", fmt.Errorf("failed to create container %s of service %s: %w: remove the old container or Down the project that owns it: %v", spec.Name, s.Name, ErrNameInUse, err)
		}
		return "", fmt.Errorf("failed to create container %s of service %s: %w", spec.Name, s.Name, err)
	}
	for _, c := range spec.Connect {
		if err := e.Docker.NetworkConnect(ctx, c.Network, resp.ID, c.Endpoint); err != nil {
			return resp.ID, fmt.Errorf("failed to connect container %s to network %s: %w", spec.Name, c.Network, err)
		}
	}
	if err := e.copyFiles(ctx, resp.ID, spec.Copy); err != nil {
		return resp.ID, fmt.Errorf("failed to prepare container %s of service %s: %w", spec.Name, s.Name, err)
	}
	return resp.ID, nil
}

// waitDependencies blocks until each of the service's dependencies meets
// its depends_on condition, every container of it; a dependency with
// required: false that never does is passed over, as in docker compose. A
// dependency that runs in another part of a split project (a shared
// service, or a colored one a singleton waits for) is waited for in its
// own project, where it must have containers by now.
func (e *Engine) waitDependencies(ctx context.Context, p *types.Project, s types.ServiceConfig, ids map[string][]string) error {
	for _, dep := range sortedKeys(s.DependsOn) {
		d := s.DependsOn[dep]
		list, ok := ids[dep]
		if !ok {
			var err error
			if list, err = e.outsideDependency(ctx, p, s.Name, dep, d.Required); err != nil {
				return err
			}
		}
		for _, id := range list {
			err := e.waitCondition(ctx, dep, id, d.Condition)
			if err != nil && d.Required {
				return fmt.Errorf("service %s cannot start: %w", s.Name, err)
			}
			// docker compose only warns when an optional dependency fails.
		}
	}
	return nil
}

// waitCondition polls a dependency until it meets condition, or fails as
// soon as it never can (exited, unhealthy, no healthcheck).
func (e *Engine) waitCondition(ctx context.Context, service, id, condition string) error {
	if condition == "" || condition == types.ServiceConditionStarted {
		return nil
	}
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		c, err := e.Inspect(ctx, id)
		if err != nil {
			return err
		}
		done, err := conditionMet(service, condition, c)
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: gave up waiting for service %s to be %s: %w", ErrDependencyFailed, service, conditionWord(condition), ctx.Err())
		case <-t.C:
		}
	}
}

// conditionMet reports whether c meets condition, or an error when it
// never will.
func conditionMet(service, condition string, c Container) (bool, error) {
	exited := c.State == "exited" || c.State == "dead"
	switch condition {
	case types.ServiceConditionHealthy:
		switch {
		case c.Health == "healthy":
			return true, nil
		case c.Health == "":
			return false, fmt.Errorf("%w: service %s has no healthcheck, so it can never be healthy: add a healthcheck to it or use condition service_started", ErrDependencyFailed, service)
		case c.Health == "unhealthy":
			return false, fmt.Errorf("%w: service %s is unhealthy", ErrDependencyFailed, service)
		case exited && !c.Restarting:
			return false, fmt.Errorf("%w: service %s exited with code %d before it was healthy", ErrDependencyFailed, service, c.ExitCode)
		}
	case types.ServiceConditionCompletedSuccessfully:
		if exited {
			if c.ExitCode == 0 {
				return true, nil
			}
			return false, fmt.Errorf("%w: service %s exited with code %d, not 0", ErrDependencyFailed, service, c.ExitCode)
		}
	default:
		return false, fmt.Errorf("%w: unknown depends_on condition %q for service %s", ErrDependencyFailed, condition, service)
	}
	return false, nil
}

func conditionWord(condition string) string {
	if condition == types.ServiceConditionHealthy {
		return "healthy"
	}
	return "completed successfully"
}

// outsideDependency returns the containers of a dependency that is not
// part of this Up: one in another part of a split project, found in its
// own project by the compose labels. Any other missing dependency is an
// optional one that is not enabled, or has scale 0, and is passed over.
func (e *Engine) outsideDependency(ctx context.Context, p *types.Project, service, dep string, required bool) ([]string, error) {
	info := infoOf(p)
	if info == nil || info.Outside[dep] == "" {
		return nil, nil
	}
	project := info.Outside[dep]
	all, err := e.List(ctx, project)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range all {
		if c.Service == dep {
			ids = append(ids, c.ID)
		}
	}
	if len(ids) == 0 && required {
		return nil, fmt.Errorf("service %s cannot start: %w: it waits for service %s, which has no container in project %s: start that project first", service, ErrDependencyFailed, dep, project)
	}
	return ids, nil
}

package compose

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
)

// ChangeKind is what Converge did to one service.
type ChangeKind int

const (
	// Unchanged: its containers run as defined; nothing was touched.
	Unchanged ChangeKind = iota
	// Created: it had no container.
	Created
	// Recreated: its definition or its image changed, so its containers
	// were replaced, as docker compose up replaces them.
	Recreated
	// Started: its containers matched the definition but were stopped.
	Started
)

func (k ChangeKind) String() string {
	switch k {
	case Created:
		return "created"
	case Recreated:
		return "recreated"
	case Started:
		return "started"
	}
	return "unchanged"
}

// Change is what Converge did to one service and why, for the log.
type Change struct {
	Service string
	Kind    ChangeKind
	// Reason says why, for Recreated: "its definition changed", "its image
	// changed" or "its number of containers changed".
	Reason string
}

// String reads "recreated db: its definition changed", "created cache",
// "db unchanged".
func (c Change) String() string {
	switch {
	case c.Kind == Unchanged:
		return c.Service + " unchanged"
	case c.Reason != "":
		return fmt.Sprintf("%s %s: %s", c.Kind, c.Service, c.Reason)
	}
	return fmt.Sprintf("%s %s", c.Kind, c.Service)
}

// Converge brings the project's services to their definitions the way
// `docker compose up -d` does, for the shared services, which outlive
// every deploy: a service without a container is created, one whose
// container was made from another definition (the config hash docker
// compose computes) or another image is recreated, a stopped one is
// started, and one that runs as defined is left alone, container and all.
// Services start in depends_on order, each after its dependencies meet
// their conditions. It returns what happened to each service, in service
// order, also on error (as far as it got). Containers of services no
// longer in the file are left as they are.
func (e *Engine) Converge(ctx context.Context, p *types.Project) ([]Change, error) {
	if err := Check(p); err != nil {
		return nil, err
	}
	if err := e.CheckPlatforms(ctx, p); err != nil {
		return nil, err
	}
	p = withDeployLabelAside(p)
	names := p.ServiceNames()
	deps := projectDeps(p)
	if hasCycle(names, deps) {
		return nil, fmt.Errorf("failed to converge project %s: depends_on has a cycle", p.Name)
	}
	existing, err := e.List(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	byService, _ := byServiceOf(existing, func(Container) bool { return true })
	changes := map[string]*Change{}
	for _, name := range names {
		c, err := e.plannedChange(ctx, p, p.Services[name], byService[name])
		if err != nil {
			return nil, err
		}
		changes[name] = &c
	}
	result := func() []Change {
		out := make([]Change, 0, len(names))
		for _, name := range names {
			out = append(out, *changes[name])
		}
		return out
	}
	for _, name := range names {
		if changes[name].Kind == Recreated {
			if err := e.removeContainers(ctx, byService[name]); err != nil {
				return result(), fmt.Errorf("failed to recreate service %s: %w", name, err)
			}
		}
	}
	create := map[string]bool{}
	sub := *p
	sub.Services = types.Services{}
	for _, name := range names {
		if k := changes[name].Kind; k == Created || k == Recreated {
			create[name] = true
			sub.Services[name] = p.Services[name]
		}
	}
	if err := e.checkPublishedPorts(ctx, &sub); err != nil {
		return result(), err
	}
	if err := e.checkExternalLinks(ctx, &sub); err != nil {
		return result(), err
	}
	if err := e.ensureNetworks(ctx, p); err != nil {
		return result(), err
	}
	if err := e.ensureVolumes(ctx, p); err != nil {
		return result(), err
	}
	specs, err := e.createSpecs(ctx, &sub)
	if err != nil {
		return result(), err
	}
	var mu sync.Mutex
	ids := map[string][]string{}
	for _, name := range names {
		if !create[name] {
			for _, c := range byService[name] {
				ids[name] = append(ids[name], c.ID)
			}
		}
	}
	lookup := func(service string) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		if list := ids[service]; len(list) > 0 {
			return list[0], true
		}
		return "", false
	}
	var rangeMu sync.Mutex
	g := graph{nodes: names, deps: deps, optional: func(node, dep string) bool {
		return !p.Services[node].DependsOn[dep].Required
	}}
	err = g.run(ctx, func(ctx context.Context, name string) error {
		mu.Lock()
		snapshot := map[string][]string{}
		for k, v := range ids {
			snapshot[k] = v
		}
		mu.Unlock()
		if err := e.waitDependencies(ctx, p, p.Services[name], snapshot); err != nil {
			return err
		}
		if !create[name] {
			return e.startStopped(ctx, byService[name])
		}
		var errs []error
		for _, spec := range specs[name] {
			if err := resolveServiceRefs(spec.Host, lookup); err != nil {
				errs = append(errs, fmt.Errorf("failed to create container %s of service %s: %w", spec.Name, name, err))
				continue
			}
			id, err := e.createContainer(ctx, p.Services[name], spec)
			if id != "" {
				mu.Lock()
				ids[name] = append(ids[name], id)
				mu.Unlock()
			}
			if err == nil {
				err = e.startContainer(ctx, p.Services[name], spec, id, &rangeMu)
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return result(), fmt.Errorf("failed to converge project %s: %w", p.Name, err)
	}
	return result(), nil
}

// plannedChange decides what Converge does to one service, as docker
// compose's convergence does (its mustRecreate): recreate when the config
// hash or the image differs from the container's labels.
func (e *Engine) plannedChange(ctx context.Context, p *types.Project, s types.ServiceConfig, have []Container) (Change, error) {
	c := Change{Service: s.Name}
	if len(have) == 0 {
		c.Kind = Created
		return c, nil
	}
	hash, err := configHash(s)
	if err != nil {
		return c, err
	}
	img, err := e.Docker.ImageInspect(ctx, imageOf(p, s))
	if err != nil {
		return c, fmt.Errorf("failed to inspect image %s of service %s: %w", imageOf(p, s), s.Name, err)
	}
	stopped := false
	for _, ct := range have {
		labels, err := e.labelsOf(ctx, ct.ID)
		if err != nil {
			return c, err
		}
		switch {
		case labels[LabelConfigHash] != hash:
			c.Kind, c.Reason = Recreated, "its definition changed"
			return c, nil
		case ct.ImageID != img.ID:
			c.Kind, c.Reason = Recreated, "its image changed"
			return c, nil
		}
		stopped = stopped || !ct.Running
	}
	if len(have) != replicas(s) {
		c.Kind, c.Reason = Recreated, fmt.Sprintf("its number of containers changed (%d, now %d)", len(have), replicas(s))
		return c, nil
	}
	if stopped {
		c.Kind = Started
	}
	return c, nil
}

// withDeployLabelAside moves LabelDeployID out of each service's labels
// into the labels that are not part of its definition: it names the
// deploy, which changes every time, and a shared service must not be
// recreated for that. The container still carries it, naming the deploy
// that created it.
func withDeployLabelAside(p *types.Project) *types.Project {
	q := *p
	q.Services = types.Services{}
	for name, s := range p.Services {
		if id, ok := s.Labels[LabelDeployID]; ok {
			labels, custom := types.Labels{}, types.Labels{}
			for k, v := range s.Labels {
				if k != LabelDeployID {
					labels[k] = v
				}
			}
			for k, v := range s.CustomLabels {
				custom[k] = v
			}
			custom[LabelDeployID] = id
			s.Labels, s.CustomLabels = labels, custom
		}
		q.Services[name] = s
	}
	return &q
}

func (e *Engine) labelsOf(ctx context.Context, id string) (map[string]string, error) {
	info, err := e.Docker.ContainerInspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("failed to inspect container %s: %w", id, err)
	}
	if info.Config == nil {
		return nil, nil
	}
	return info.Config.Labels, nil
}

// removeContainers stops and removes containers, each with its own stop
// timeout and signal.
func (e *Engine) removeContainers(ctx context.Context, cs []Container) error {
	var errs []error
	for _, c := range cs {
		if c.Running || c.Restarting {
			if err := e.stopContainer(ctx, c, nil); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := e.Docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			errs = append(errs, fmt.Errorf("failed to remove container %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

// startStopped starts the containers that are not running.
func (e *Engine) startStopped(ctx context.Context, cs []Container) error {
	var errs []error
	for _, c := range cs {
		if c.Running {
			continue
		}
		if err := e.Docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("failed to start container %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

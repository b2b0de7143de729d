package compose

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// ErrNetworkInUse is returned by Down when a project network could not be
// removed because containers of other projects are still attached to it
// (an nginx container, say). The project's own containers are gone by then.
var ErrNetworkInUse = errors.New("network still in use")

// Stop stops a project's running containers, dependents before the
// services they depend on (read back from the depends_on labels), and all
// at once when no order is known, as for docker-compose v1 projects.
// timeout nil lets each container use its own stop timeout
// (stop_grace_period) and every stop uses the container's own stop signal
// (stop_signal), so the application gets the shutdown it was configured
// for.
func (e *Engine) Stop(ctx context.Context, project string, timeout *time.Duration) error {
	containers, err := e.List(ctx, project)
	if err != nil {
		return err
	}
	return e.stopContainers(ctx, project, containers, timeout)
}

// Down stops and removes a project's containers, those set aside by a
// deploy included, then the networks that carry the project's label. It never removes volumes, nor networks of
// other projects or external ones (they do not carry the label). A project
// with nothing left is success, so Down can always be retried.
func (e *Engine) Down(ctx context.Context, project string, timeout *time.Duration) error {
	return e.down(ctx, project, timeout, true)
}

// Remove stops and removes a project's containers and keeps its networks,
// for the next Up of the project to use as they are. A deploy removes a
// color it will start again at its next-but-one deploy: creating and
// removing a bridge network each time costs about a third of a second,
// on the deploy's critical path. Up checks a kept network still matches
// the compose file and recreates it when it does not.
func (e *Engine) Remove(ctx context.Context, project string, timeout *time.Duration) error {
	return e.down(ctx, project, timeout, false)
}

func (e *Engine) down(ctx context.Context, project string, timeout *time.Duration, networks bool) error {
	containers, err := e.List(ctx, project)
	if err != nil {
		return err
	}
	// Dependents first, as Stop; each container is removed as soon as it
	// has stopped, the containers of a level all at once, as docker
	// compose v2 takes a project down.
	byService, deps := byServiceOf(containers, func(Container) bool { return true })
	nodes := sortedKeys(byService)
	order := reverseDeps(deps)
	if hasCycle(nodes, order) {
		order = nil
	}
	err = graph{nodes: nodes, deps: order}.run(ctx, func(ctx context.Context, service string) error {
		list := byService[service]
		return eachAtOnce(len(list), func(i int) error {
			return e.stopAndRemove(ctx, list[i], timeout)
		})
	})
	if err != nil {
		return fmt.Errorf("failed to take down project %s: %w", project, err)
	}
	if !networks {
		return nil
	}
	// Down takes everything of the project: containers set aside by a
	// deploy too, which could not start again without its networks.
	if _, err := e.RemoveAside(ctx, project); err != nil {
		return fmt.Errorf("failed to take down project %s: %w", project, err)
	}
	if err := e.removeNetworks(ctx, project); err != nil {
		return fmt.Errorf("failed to take down project %s: %w", project, err)
	}
	return nil
}

// stopContainers stops the running ones of containers in reverse
// dependency order, the containers of one level all at once.
func (e *Engine) stopContainers(ctx context.Context, project string, containers []Container, timeout *time.Duration) error {
	byService, deps := byServiceOf(containers, func(c Container) bool { return c.Running || c.Restarting })
	nodes := sortedKeys(byService)
	order := reverseDeps(deps)
	if hasCycle(nodes, order) {
		order = nil // no usable order: stop everything at once
	}
	err := graph{nodes: nodes, deps: order}.run(ctx, func(ctx context.Context, service string) error {
		list := byService[service]
		return eachAtOnce(len(list), func(i int) error { return e.stopContainer(ctx, list[i], timeout) })
	})
	if err != nil {
		return fmt.Errorf("failed to stop project %s: %w", project, err)
	}
	return nil
}

// stopAndRemove stops c when it runs, then removes it. A container that
// is already gone, or being removed by a concurrent Down, is no error.
func (e *Engine) stopAndRemove(ctx context.Context, c Container, timeout *time.Duration) error {
	if c.Running || c.Restarting {
		if err := e.stopContainer(ctx, c, timeout); err != nil {
			return err
		}
	}
	err := e.Docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
		return fmt.Errorf("failed to remove container %s: %w", c.Name, err)
	}
	return nil
}

func (e *Engine) stopContainer(ctx context.Context, c Container, timeout *time.Duration) error {
	opts := container.StopOptions{}
	if timeout != nil {
		secs := int(math.Ceil(timeout.Seconds()))
		opts.Timeout = &secs
	}
	if err := e.Docker.ContainerStop(ctx, c.ID, opts); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("failed to stop container %s: %w", c.Name, err)
	}
	return nil
}

// removeNetworks removes the networks labelled with the project, which
// are the ones it created (docker compose v1 and v2 label theirs the same
// way).
func (e *Engine) removeNetworks(ctx context.Context, project string) error {
	list, err := e.Docker.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+project))})
	if err != nil {
		return fmt.Errorf("failed to list networks of project %s: %w", project, err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	var errs []error
	for _, nw := range list {
		err := e.Docker.NetworkRemove(ctx, nw.ID)
		switch {
		case err == nil, cerrdefs.IsNotFound(err):
		case strings.Contains(err.Error(), "active endpoints"):
			errs = append(errs, fmt.Errorf("failed to remove network %s: %w: disconnect the other containers from it first: %v", nw.Name, ErrNetworkInUse, err))
		default:
			errs = append(errs, fmt.Errorf("failed to remove network %s: %w", nw.Name, err))
		}
	}
	return errors.Join(errs...)
}

// isRemovalInProgress recognises the conflict the engine reports when the
// container is already being removed (a concurrent Down).
func isRemovalInProgress(err error) bool {
	return cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress")
}

// byServiceOf groups the containers that keep accepts by service (by name
// for a container without a service label) and collects each service's
// dependencies from the containers' depends_on labels, so that a project
// found on the host can be stopped or started in order without its files.
func byServiceOf(containers []Container, keep func(Container) bool) (map[string][]Container, map[string][]string) {
	byService := map[string][]Container{}
	deps := map[string][]string{}
	for _, c := range containers {
		if !keep(c) {
			continue
		}
		key := c.Service
		if key == "" {
			key = c.Name
		}
		byService[key] = append(byService[key], c)
		deps[key] = append(deps[key], c.DependsOn...)
	}
	return byService, deps
}

package compose

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
)

// ErrNothingToStart means a project has no containers to start again.
var ErrNothingToStart = errors.New("no containers to start")

// Start starts a project's existing, stopped containers again in
// dependency order, the way `docker compose start` does. It is what a
// rollback uses: the previous color's containers were kept (stopped, not
// removed), so they come back with exactly the image and settings they
// served with. A finished job is not run again (its migration is done),
// and singletons are left for StartSingletons, since they must not run
// while the other color's do. It returns the project's containers after
// the start.
func (e *Engine) Start(ctx context.Context, project string) ([]Container, error) {
	return e.start(ctx, project, func(c Container) bool { return c.Role != Job.String() && c.Role != Singleton.String() })
}

// StartSingletons starts a project's stopped singleton containers again,
// for a rollback once the other color's singletons have stopped.
func (e *Engine) StartSingletons(ctx context.Context, project string) ([]Container, error) {
	return e.start(ctx, project, func(c Container) bool { return c.Role == Singleton.String() })
}

// StopSingletons stops a project's running singleton containers (each with
// its own stop signal, and its own stop timeout unless timeout is set), so
// that the other color's may start.
func (e *Engine) StopSingletons(ctx context.Context, project string, timeout *time.Duration) error {
	containers, err := e.List(ctx, project)
	if err != nil {
		return err
	}
	var singletons []Container
	for _, c := range containers {
		if c.Role == Singleton.String() {
			singletons = append(singletons, c)
		}
	}
	return e.stopContainers(ctx, project, singletons, timeout)
}

func (e *Engine) start(ctx context.Context, project string, which func(Container) bool) ([]Container, error) {
	containers, err := e.List(ctx, project)
	if err != nil {
		return nil, err
	}
	if len(containers) == 0 {
		return nil, fmt.Errorf("failed to start project %s: %w", project, ErrNothingToStart)
	}
	var chosen []Container
	for _, c := range containers {
		if which(c) {
			chosen = append(chosen, c)
		}
	}
	if err := e.startInOrder(ctx, project, chosen); err != nil {
		return nil, err
	}
	return e.List(ctx, project)
}

// startInOrder starts the stopped ones of containers in dependency order:
// the services of one level, and the containers of each, at once.
func (e *Engine) startInOrder(ctx context.Context, project string, containers []Container) error {
	byService, deps := byServiceOf(containers, func(c Container) bool { return !c.Running })
	nodes := sortedKeys(byService)
	if hasCycle(nodes, deps) {
		deps = nil
	}
	var rangeMu sync.Mutex
	err := graph{nodes: nodes, deps: deps}.run(ctx, func(ctx context.Context, service string) error {
		list := byService[service]
		return eachAtOnce(len(list), func(i int) error {
			c := list[i]
			if c.HostRange {
				rangeMu.Lock() // see startContainer
				defer rangeMu.Unlock()
			}
			if err := e.Docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
				return fmt.Errorf("failed to start container %s: %w", c.Name, err)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("failed to start project %s: %w", project, err)
	}
	return nil
}

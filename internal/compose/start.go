package compose

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/docker/api/types/container"
)

// ErrNothingToStart means a project has no containers to start again.
var ErrNothingToStart = errors.New("no containers to start")

// Start starts a project's existing, stopped containers again in
// dependency order, the way `docker compose start` does. It is what a
// rollback uses: the previous color's containers were kept (stopped, not
// removed), so they come back with exactly the image and settings they
// served with. It returns the project's containers after the start.
func (e *Engine) Start(ctx context.Context, project string) ([]Container, error) {
	containers, err := e.List(ctx, project)
	if err != nil {
		return nil, err
	}
	if len(containers) == 0 {
		return nil, fmt.Errorf("failed to start project %s: %w", project, ErrNothingToStart)
	}
	if err := e.startInOrder(ctx, project, containers); err != nil {
		return nil, err
	}
	return e.List(ctx, project)
}

// startInOrder starts the stopped ones of containers in dependency order.
func (e *Engine) startInOrder(ctx context.Context, project string, containers []Container) error {
	byService, deps := byServiceOf(containers, func(c Container) bool { return !c.Running })
	nodes := sortedKeys(byService)
	if hasCycle(nodes, deps) {
		deps = nil
	}
	err := graph{nodes: nodes, deps: deps}.run(ctx, func(ctx context.Context, service string) error {
		var errs []error
		for _, c := range byService[service] {
			if err := e.Docker.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("failed to start container %s: %w", c.Name, err))
			}
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return fmt.Errorf("failed to start project %s: %w", project, err)
	}
	return nil
}

package deploytest

// Engine: the host ports containers publish.

import (
	"context"
	"sort"

	"github.com/bluegreen-action/bluegreen/internal/compose"
)

// Publish makes project's containers publish host ports, as a color
// started with ports: does. Only the containers of Engine.Run and Up
// exist; Publish on a project that has none adds one of service "app".
func (f *Engine) Publish(project string, ports ...uint16) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.containers[project]) == 0 {
		f.containers[project] = append(f.containers[project], fakeContainer(project, "app", "app:latest"))
	}
	for i := range f.containers[project] {
		c := &f.containers[project][i]
		c.PublishedPorts = append(c.PublishedPorts, ports...)
		sort.Slice(c.PublishedPorts, func(a, b int) bool { return c.PublishedPorts[a] < c.PublishedPorts[b] })
	}
}

// Publishers lists the running containers that publish one of ports.
func (f *Engine) Publishers(ctx context.Context, ports ...int) ([]compose.Container, error) {
	if err := f.enter(ctx, "Publishers", "", false); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []compose.Container
	projects := make([]string, 0, len(f.containers))
	for p := range f.containers {
		projects = append(projects, p)
	}
	sort.Strings(projects)
	for _, p := range projects {
		for _, c := range f.containers[p] {
			if !c.Running {
				continue
			}
			var hit []uint16
			for _, pp := range c.PublishedPorts {
				for _, want := range ports {
					if int(pp) == want {
						hit = append(hit, pp)
					}
				}
			}
			if len(hit) > 0 {
				c.PublishedPorts = hit
				out = append(out, c)
			}
		}
	}
	return out, nil
}

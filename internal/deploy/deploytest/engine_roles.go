package deploytest

// Engine: the services' roles (shared services, jobs, singletons).

import (
	"context"
	"fmt"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/compose"
)

// roleState is what the fake knows of roles beyond its containers.
type roleState struct {
	// jobExit is the exit code each job's container ends with (0 unless
	// set by JobExits).
	jobExit map[string]int
	// platformErr is what CheckPlatforms returns.
	platformErr error
	// singletonFails makes the singletons of a project fail to start.
	singletonFails map[string]bool
	// singletonStops is the timeout of each StopSingletons call, as
	// "<project> <timeout>" ("default" for nil).
	singletonStops []string
}

// SingletonStops returns the timeout each StopSingletons call was given,
// as "<project> <timeout>" ("<project> default" for none).
func (f *Engine) SingletonStops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.roles.singletonStops...)
}

// JobExits makes the container of job service exit with code when Up runs
// it (jobs exit 0 unless told otherwise).
func (f *Engine) JobExits(service string, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.roles.jobExit == nil {
		f.roles.jobExit = map[string]int{}
	}
	f.roles.jobExit[service] = code
}

// ForeignPlatform makes CheckPlatforms refuse every project with err.
func (f *Engine) ForeignPlatform(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.roles.platformErr = err
}

// SingletonsExit makes the singleton containers of project exit with code
// 1 as soon as they are started.
func (f *Engine) SingletonsExit(project string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.roles.singletonFails == nil {
		f.roles.singletonFails = map[string]bool{}
	}
	f.roles.singletonFails[project] = true
}

// RunRole puts a running container of service, with role, into project.
func (f *Engine) RunRole(project, service, image string, role compose.Role) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := fakeContainer(project, service, image)
	c.Role = role.String()
	f.containers[project] = append(f.containers[project], c)
}

// UpProjects returns the projects Up was given, in order.
func (f *Engine) UpProjects() []*types.Project {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*types.Project(nil), f.upped...)
}

// runJob makes a new container of a job finish (f.mu held), and a
// singleton fail when SingletonsExit was called.
func (f *Engine) runJob(c *compose.Container) {
	switch c.Role {
	case compose.Job.String():
		c.Running, c.State, c.ExitCode = false, "exited", f.roles.jobExit[c.Service]
	case compose.Singleton.String():
		if f.roles.singletonFails[c.Project] {
			c.Running, c.State, c.ExitCode = false, "exited", 1
		}
	}
}

// Converge creates the shared services that have no container, recreates
// those whose image changed, starts stopped ones and leaves the rest
// alone, container and all.
func (f *Engine) Converge(ctx context.Context, p *types.Project) ([]compose.Change, error) {
	if err := f.enter(ctx, "Converge", p.Name, true); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var changes []compose.Change
	for _, name := range p.ServiceNames() {
		svc := p.Services[name]
		idx := -1
		for i, c := range f.containers[p.Name] {
			if c.Service == name {
				idx = i
			}
		}
		change := compose.Change{Service: name}
		fresh := fakeContainer(p.Name, name, svc.Image)
		fresh.Role = compose.Shared.String()
		fresh.ID = fmt.Sprintf("%s_%s_%d", p.Name, name, len(f.calls))
		switch {
		case idx < 0:
			change.Kind = compose.Created
			f.containers[p.Name] = append(f.containers[p.Name], fresh)
		case f.containers[p.Name][idx].Image != svc.Image:
			change.Kind, change.Reason = compose.Recreated, "its image changed"
			f.containers[p.Name][idx] = fresh
		case !f.containers[p.Name][idx].Running:
			change.Kind = compose.Started
			f.containers[p.Name][idx].Running, f.containers[p.Name][idx].State = true, "running"
		}
		changes = append(changes, change)
	}
	return changes, nil
}

// StartSingletons starts a project's stopped singletons.
func (f *Engine) StartSingletons(ctx context.Context, project string) ([]compose.Container, error) {
	if err := f.enter(ctx, "StartSingletons", project, true); err != nil {
		return nil, err
	}
	f.mu.Lock()
	fails := f.roles.singletonFails[project]
	f.mu.Unlock()
	f.setStateWhere(project, !fails, map[bool]int{true: 1, false: 0}[fails], func(c compose.Container) bool { return c.Role == compose.Singleton.String() })
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]compose.Container(nil), f.containers[project]...), nil
}

// StopSingletons stops a project's singletons.
func (f *Engine) StopSingletons(ctx context.Context, project string, timeout *time.Duration) error {
	if err := f.enter(ctx, "StopSingletons", project, true); err != nil {
		return err
	}
	said := "default"
	if timeout != nil {
		said = timeout.String()
	}
	f.mu.Lock()
	f.roles.singletonStops = append(f.roles.singletonStops, project+" "+said)
	f.mu.Unlock()
	f.setStateWhere(project, false, 0, func(c compose.Container) bool { return c.Role == compose.Singleton.String() })
	return nil
}

// CheckPlatforms returns what ForeignPlatform set (nil by default).
func (f *Engine) CheckPlatforms(ctx context.Context, _ *types.Project) error {
	if err := f.enter(ctx, "CheckPlatforms", "", false); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.roles.platformErr
}

// RunningOf lists the running containers of service in project.
func (f *Engine) RunningOf(project, service string) []compose.Container {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []compose.Container
	for _, c := range f.containers[project] {
		if c.Service == service && c.Running {
			out = append(out, c)
		}
	}
	return out
}

// jobFailure is the error Up gives when a job it ran exited non-zero: the
// services that wait for it cannot start (f.mu held).
func (f *Engine) jobFailure(project string, cs []compose.Container) error {
	for _, c := range cs {
		if c.Role == compose.Job.String() && c.ExitCode != 0 {
			return fmt.Errorf("failed to start project %s: %w: service %s exited with code %d, not 0", project, compose.ErrDependencyFailed, c.Service, c.ExitCode)
		}
	}
	return nil
}

package deploytest

// Engine: Docker as a deploy sees it, in memory.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// Engine is a deploy.Engine whose projects live in memory.
type Engine struct {
	mu         sync.Mutex
	containers map[string][]compose.Container
	calls      []Call
	// LogText is what Logs answers for any container.
	LogText string
	// Health is the Docker healthcheck state Up gives new containers ("",
	// starting, healthy, unhealthy).
	Health string
	Hook   Hook
	// PullDigests gives each image EnsureImages brings a repo digest
	// (repo@id), as a pull from a registry does.
	PullDigests bool
	// images are the images present, by reference and by id.
	images map[string]compose.ImageInfo
	// roles are the fake's state of the services' roles (engine_roles.go).
	roles roleState
	// aside holds each project's set-aside containers (engine_aside.go).
	aside map[string][]compose.Container
	// upped are the projects Up was given, in order.
	upped []*types.Project
}

var _ deploy.Engine = (*Engine)(nil)

// NewEngine returns an engine with no projects.
func NewEngine() *Engine {
	return &Engine{containers: map[string][]compose.Container{}, aside: map[string][]compose.Container{}}
}

// enter records a call (failed ones too) and runs the Hook.
func (f *Engine) enter(ctx context.Context, method, arg string, record bool) error {
	if record {
		f.mu.Lock()
		f.calls = append(f.calls, Call{method, arg})
		f.mu.Unlock()
	}
	if f.Hook != nil {
		return f.Hook(ctx, method, arg)
	}
	return nil
}

// Calls returns the calls that change something, in order, failed ones
// included.
func (f *Engine) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Run puts a running container of service into project, as a color that
// an earlier deploy left running.
func (f *Engine) Run(project, service, image string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := fakeContainer(project, service, image)
	for f.asideID(project, c.ID) {
		c.ID += "+"
	}
	f.containers[project] = append(f.containers[project], c)
}

// Label marks project's containers as made by deploy id.
func (f *Engine) Label(project, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.containers[project] {
		f.containers[project][i].DeployID = id
	}
}

// Exit makes project's containers exit with code, as a crash would.
func (f *Engine) Exit(project string, code int) {
	f.setState(project, false, code)
}

// SetHealth makes project's containers report health as the state of
// their Docker healthcheck (starting, healthy, unhealthy).
func (f *Engine) SetHealth(project, health string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.containers[project] {
		f.containers[project][i].Health = health
	}
}

func (f *Engine) setState(project string, running bool, code int) {
	f.setStateWhere(project, running, code, func(compose.Container) bool { return true })
}

func (f *Engine) setStateWhere(project string, running bool, code int, which func(compose.Container) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.containers[project] {
		c := &f.containers[project][i]
		if !which(*c) {
			continue
		}
		c.Running, c.ExitCode, c.State = running, code, "exited"
		if running {
			c.State = "running"
		}
	}
}

// Running reports whether project has a running container.
func (f *Engine) Running(project string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers[project] {
		if c.Running {
			return true
		}
	}
	return false
}

// Exists reports whether project has any container.
func (f *Engine) Exists(project string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.containers[project]) > 0
}

func fakeContainer(project, service, image string) compose.Container {
	return compose.Container{
		ID: project + "_" + service, Name: project + "-" + service + "-1", Project: project, Service: service,
		Image: image, ImageID: ImageID(image), State: "running", Running: true,
	}
}

// Up creates the running containers of each service: one, or as many as
// its scale (deploy.replicas), the n-th bound to the n-th host port of
// each published range, as Docker binds replicas.
func (f *Engine) Up(ctx context.Context, p *types.Project) ([]compose.Container, error) {
	if err := f.enter(ctx, "Up", p.Name, true); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.upped = append(f.upped, p)
	var cs []compose.Container
	for _, name := range p.ServiceNames() {
		svc := p.Services[name]
		for n := 1; n <= max(svc.GetScale(), 1); n++ {
			c := fakeContainer(p.Name, name, svc.Image)
			if n > 1 {
				c.ID = fmt.Sprintf("%s_%s_%d", p.Name, name, n)
				c.Name = fmt.Sprintf("%s-%s-%d", p.Name, name, n)
			}
			// A new container never shares an id with a set-aside one.
			for f.asideID(p.Name, c.ID) {
				c.ID += "+"
			}
			c.TCPPorts = replicaPorts(svc, n)
			c.Health = f.Health
			c.DeployID = svc.Labels[compose.LabelDeployID]
			c.Role = svc.CustomLabels[compose.LabelRole]
			f.runJob(&c)
			c.Staged = svc.CustomLabels[compose.LabelStaged] == "true"
			if info, ok := f.images[svc.Image]; ok {
				c.ImageID = info.ID
			}
			cs = append(cs, c)
		}
	}
	// Containers of other services of the project stay: a color comes up
	// in parts (its jobs, the rest, its singletons after the switch).
	var kept []compose.Container
	for _, c := range f.containers[p.Name] {
		if _, ours := p.Services[c.Service]; !ours {
			kept = append(kept, c)
		}
	}
	f.containers[p.Name] = append(kept, cs...)
	return append([]compose.Container(nil), cs...), f.jobFailure(p.Name, cs)
}

// replicaPorts maps each published TCP container port of svc to the host
// port its n-th replica gets: the n-th of the published range.
func replicaPorts(svc types.ServiceConfig, n int) map[int]int {
	out := map[int]int{}
	for _, pc := range svc.Ports {
		if pc.Published == "" || (pc.Protocol != "" && pc.Protocol != "tcp") {
			continue
		}
		lo, hi, _ := strings.Cut(pc.Published, "-")
		first, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		last := first
		if hi != "" {
			if last, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		if port := first + n - 1; port <= last {
			out[int(pc.Target)] = port
		}
	}
	return out
}

// List returns a project's containers.
func (f *Engine) List(ctx context.Context, project string) ([]compose.Container, error) {
	if err := f.enter(ctx, "List", project, false); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]compose.Container(nil), f.containers[project]...), nil
}

// Inspect returns one container's current state.
func (f *Engine) Inspect(ctx context.Context, id string) (compose.Container, error) {
	if err := f.enter(ctx, "Inspect", id, false); err != nil {
		return compose.Container{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, all := range []map[string][]compose.Container{f.containers, f.aside} {
		for _, cs := range all {
			for _, c := range cs {
				if c.ID == id {
					return c, nil
				}
			}
		}
	}
	return compose.Container{}, fmt.Errorf("failed to inspect container %s: %w", id, compose.ErrNoSuchContainer)
}

// Logs answers the last tail lines of LogText, as docker logs --tail.
func (f *Engine) Logs(ctx context.Context, id string, tail int) (string, error) {
	if err := f.enter(ctx, "Logs", id, false); err != nil {
		return "", err
	}
	lines := strings.SplitAfter(f.LogText, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if tail >= 0 && len(lines) > tail {
		lines = lines[len(lines)-tail:]
	}
	return strings.Join(lines, ""), nil
}

// Start starts a project's stopped containers again.
func (f *Engine) Start(ctx context.Context, project string) ([]compose.Container, error) {
	if err := f.enter(ctx, "Start", project, true); err != nil {
		return nil, err
	}
	if !f.Exists(project) {
		return nil, fmt.Errorf("failed to start project %s: %w", project, compose.ErrNothingToStart)
	}
	// A finished job is not run again; singletons wait for
	// StartSingletons, as compose.Engine.Start does.
	f.setStateWhere(project, true, 0, func(c compose.Container) bool {
		return c.Role != compose.Job.String() && c.Role != compose.Singleton.String()
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]compose.Container(nil), f.containers[project]...), nil
}

// Stop stops a project's containers and keeps them.
func (f *Engine) Stop(ctx context.Context, project string, _ *time.Duration) error {
	if err := f.enter(ctx, "Stop", project, true); err != nil {
		return err
	}
	f.setState(project, false, 0)
	return nil
}

// Down removes a project's containers, set-aside ones included, as
// compose.Engine.Down does.
func (f *Engine) Down(ctx context.Context, project string, _ *time.Duration) error {
	if err := f.remove(ctx, "Down", project); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.aside, project)
	return nil
}

// Remove removes a project's containers (a fake has no networks to keep).
func (f *Engine) Remove(ctx context.Context, project string, _ *time.Duration) error {
	return f.remove(ctx, "Remove", project)
}

func (f *Engine) remove(ctx context.Context, method, project string) error {
	if err := f.enter(ctx, method, project, true); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, project)
	return nil
}

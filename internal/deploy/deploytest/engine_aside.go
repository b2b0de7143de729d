package deploytest

// Engine: containers set aside by a deploy (see compose.Engine.SetAside).
// SetAside, PutBack and RemoveAside are recorded as calls only when they
// change something, so that a deploy with no kept color records none.

import (
	"context"
	"fmt"

	"github.com/bluegreen-action/bluegreen/internal/compose"
)

// SetAside stops project's containers and renames them aside for by.
func (f *Engine) SetAside(ctx context.Context, project, by string) ([]compose.Container, error) {
	f.mu.Lock()
	n, held := len(f.containers[project]), len(f.aside[project])
	f.mu.Unlock()
	if err := f.enter(ctx, "SetAside", project, n > 0 || held > 0); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if held > 0 {
		return nil, fmt.Errorf("failed to set aside the containers of %s: some are already set aside", project)
	}
	before := append([]compose.Container(nil), f.containers[project]...)
	for _, c := range before {
		c.Name = compose.AsideName(c.Name, by, c.Running)
		c.Running, c.State = false, "exited"
		f.aside[project] = append(f.aside[project], c)
	}
	delete(f.containers, project)
	return before, nil
}

// ListAside returns project's set-aside containers.
func (f *Engine) ListAside(ctx context.Context, project string) ([]compose.Container, error) {
	if err := f.enter(ctx, "ListAside", project, false); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]compose.Container(nil), f.aside[project]...), nil
}

// PutBack renames project's set-aside containers back and starts the
// ones that ran; their names must be free (no other container in the
// project), as Docker requires.
func (f *Engine) PutBack(ctx context.Context, project string) ([]compose.Container, error) {
	f.mu.Lock()
	held := len(f.aside[project])
	f.mu.Unlock()
	if err := f.enter(ctx, "PutBack", project, held > 0); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if held == 0 {
		return nil, nil
	}
	for _, c := range f.containers[project] {
		for _, a := range f.aside[project] {
			if orig, _, _, _ := compose.ParseAside(a.Name); orig == c.Name {
				return nil, fmt.Errorf("failed to put back the containers of %s: the name %s is in use", project, orig)
			}
		}
	}
	for _, c := range f.aside[project] {
		orig, _, wasRunning, _ := compose.ParseAside(c.Name)
		c.Name = orig
		if wasRunning {
			c.Running, c.State = true, "running"
		}
		f.containers[project] = append(f.containers[project], c)
	}
	delete(f.aside, project)
	return append([]compose.Container(nil), f.containers[project]...), nil
}

// RemoveAside removes project's set-aside containers.
func (f *Engine) RemoveAside(ctx context.Context, project string) ([]compose.Container, error) {
	f.mu.Lock()
	held := append([]compose.Container(nil), f.aside[project]...)
	f.mu.Unlock()
	if err := f.enter(ctx, "RemoveAside", project, len(held) > 0); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.aside, project)
	return held, nil
}

// Aside returns the ids of project's set-aside containers, for a test to
// check that the kept copy survived.
func (f *Engine) Aside(project string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, c := range f.aside[project] {
		ids = append(ids, c.ID)
	}
	return ids
}

// IDs returns the ids of project's containers (set-aside ones left out).
func (f *Engine) IDs(project string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, c := range f.containers[project] {
		ids = append(ids, c.ID)
	}
	return ids
}

// asideID reports whether project has a set-aside container with id; the
// caller holds f.mu.
func (f *Engine) asideID(project, id string) bool {
	for _, c := range f.aside[project] {
		if c.ID == id {
			return true
		}
	}
	return false
}

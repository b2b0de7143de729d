package compose

// Setting a project's containers aside: a deploy into the idle color must
// free the container names the new version needs, but the idle color's
// containers are the previous version, kept (stopped) for a rollback.
// Removing them before the new version serves would throw that rollback
// copy away on any failure (a typo in the image, a failed health check).
// Renaming costs one API call a container and frees the names; the
// containers keep their labels, volumes and image, and are renamed back
// when the deploy fails, or removed once the new version serves.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// asideMark separates a set-aside container's own name from the deploy
// that set it aside; asideUp marks one that was running and is started
// again when it is put back. Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*,
// and no name compose gives contains a dot followed by "aside-".
const (
	asideMark = ".aside-"
	asideUp   = ".up"
)

// AsideName is the name a container named name takes when the deploy by
// sets it aside; wasRunning marks it to be started again when put back.
func AsideName(name, by string, wasRunning bool) string {
	n := name + asideMark + by
	if wasRunning {
		n += asideUp
	}
	return n
}

// ParseAside reads a set-aside container's name: its own name, the deploy
// that set it aside and whether it ran then. ok is false for any other
// name.
func ParseAside(name string) (orig, by string, wasRunning, ok bool) {
	orig, rest, ok := strings.Cut(name, asideMark)
	if !ok || orig == "" || rest == "" {
		return "", "", false, false
	}
	by, wasRunning = strings.CutSuffix(rest, asideUp)
	return orig, by, wasRunning, by != ""
}

// IsAside reports whether c is a set-aside container.
func (c Container) IsAside() bool {
	_, _, _, ok := ParseAside(c.Name)
	return ok
}

// SetAside stops a project's running containers and renames every one of
// them out of the way, marked with the deploy by, so that Up can create
// the project afresh while they stay on the host. It returns them as they
// were before (their old names), for the log. A project already holding
// set-aside containers is refused: those are the copy to keep, and a second
// set would make it ambiguous which one goes back.
func (e *Engine) SetAside(ctx context.Context, project, by string) ([]Container, error) {
	if held, err := e.ListAside(ctx, project); err != nil {
		return nil, err
	} else if len(held) > 0 {
		return nil, fmt.Errorf("failed to set aside the containers of %s: %s are already set aside; put them back or remove them first", project, names(held))
	}
	cs, err := e.List(ctx, project)
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	zero := 0
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.Running || c.Restarting {
				err := e.Docker.ContainerStop(ctx, c.ID, container.StopOptions{Timeout: &zero})
				if err != nil && !cerrdefs.IsNotFound(err) {
					errs[i] = fmt.Errorf("failed to stop container %s: %w", c.Name, err)
					return
				}
			}
			if err := e.Docker.ContainerRename(ctx, c.ID, AsideName(c.Name, by, c.Running || c.Restarting)); err != nil {
				errs[i] = fmt.Errorf("failed to rename container %s out of the way: %w", c.Name, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return cs, fmt.Errorf("failed to set aside the containers of %s: %w", project, err)
	}
	return cs, nil
}

// ListAside returns a project's set-aside containers, sorted by name.
func (e *Engine) ListAside(ctx context.Context, project string) ([]Container, error) {
	return e.list(ctx, project, true)
}

// PutBack renames a project's set-aside containers to their own names
// again and starts the ones that were running when they were set aside.
// The names must be free: the caller removes whatever took them first. A
// project with nothing set aside is success, so PutBack can be retried.
func (e *Engine) PutBack(ctx context.Context, project string) ([]Container, error) {
	held, err := e.ListAside(ctx, project)
	if err != nil || len(held) == 0 {
		return nil, err
	}
	var errs []error
	var restart []Container
	for _, c := range held {
		orig, _, wasRunning, _ := ParseAside(c.Name)
		if err := e.Docker.ContainerRename(ctx, c.ID, orig); err != nil {
			errs = append(errs, fmt.Errorf("failed to rename container %s back to %s: %w", c.Name, orig, err))
			continue
		}
		c.Name = orig
		if wasRunning {
			restart = append(restart, c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("failed to put back the containers of %s: %w", project, err)
	}
	// In dependency order, as a rollback starts a kept color.
	if err := e.startInOrder(ctx, project, restart); err != nil {
		return nil, err
	}
	return e.List(ctx, project)
}

// RemoveAside removes a project's set-aside containers, once what replaced
// them serves. It returns what it removed.
func (e *Engine) RemoveAside(ctx context.Context, project string) ([]Container, error) {
	held, err := e.ListAside(ctx, project)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(held))
	var wg sync.WaitGroup
	for i, c := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := e.Docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
			if err != nil && !cerrdefs.IsNotFound(err) && !isRemovalInProgress(err) {
				errs[i] = fmt.Errorf("failed to remove container %s: %w", c.Name, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return held, fmt.Errorf("failed to remove the set-aside containers of %s: %w", project, err)
	}
	return held, nil
}

// list returns the project's containers that are set aside (aside) or not.
func (e *Engine) list(ctx context.Context, project string, aside bool) ([]Container, error) {
	summaries, err := e.Docker.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+project)),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to list containers of project %s: %w", project, err)
	}
	var ids []string
	for _, s := range summaries {
		name := ""
		if len(s.Names) > 0 {
			name = strings.TrimPrefix(s.Names[0], "/")
		}
		if _, _, _, isAside := ParseAside(name); isAside == aside {
			ids = append(ids, s.ID)
		}
	}
	out, err := e.inspectEach(ctx, ids)
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// inspectEach inspects the containers at once (a project of six services
// is six round trips otherwise, on every List), skipping any removed
// meanwhile.
func (e *Engine) inspectEach(ctx context.Context, ids []string) ([]Container, error) {
	got := make([]Container, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = e.Inspect(ctx, id)
		}()
	}
	wg.Wait()
	out := make([]Container, 0, len(ids))
	for i := range ids {
		switch {
		case errors.Is(errs[i], ErrNoSuchContainer):
			// removed between list and inspect
		case errs[i] != nil:
			return nil, errs[i]
		default:
			out = append(out, got[i])
		}
	}
	return out, nil
}

func names(cs []Container) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return strings.Join(out, ", ")
}

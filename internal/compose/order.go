package compose

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"
)

// ErrDependencyFailed marks a service that was not started or stopped
// because a service it is ordered after failed.
var ErrDependencyFailed = errors.New("dependency failed")

// graph is a set of services and what each must wait for.
type graph struct {
	nodes []string
	deps  map[string][]string
	// optional reports whether node may still run when its dep failed, as
	// for depends_on with required: false. Nil means never.
	optional func(node, dep string) bool
}

// run calls fn once for every node after fn has finished for all of the
// node's deps, running nodes whose deps are done in parallel. A node whose
// (non-optional) dep failed is skipped. Deps that are not nodes are
// ignored. The returned error joins the errors of fn only, so that one
// failure is reported once, not once more for each node behind it.
func (g graph) run(ctx context.Context, fn func(ctx context.Context, node string) error) error {
	r := &graphRun{graph: g, known: map[string]bool{}, done: map[string]chan struct{}{}, failed: map[string]bool{}, errs: map[string]error{}}
	for _, n := range g.nodes {
		r.known[n] = true
		r.done[n] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for _, n := range g.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(r.done[n])
			err := r.waitDeps(ctx, n)
			if err == nil {
				err = fn(ctx, n)
				r.set(n, err, true)
			}
			if err != nil {
				r.set(n, err, false)
			}
		}()
	}
	wg.Wait()
	var out []error
	for _, n := range g.nodes {
		if r.errs[n] != nil {
			out = append(out, r.errs[n])
		}
	}
	return errors.Join(out...)
}

// graphRun is the state of one graph.run.
type graphRun struct {
	graph
	known  map[string]bool
	done   map[string]chan struct{}
	mu     sync.Mutex
	failed map[string]bool
	errs   map[string]error
}

// set records a node's outcome; own says the error came from fn itself.
func (r *graphRun) set(node string, err error, own bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if own {
		r.errs[node] = err
	}
	if err != nil {
		r.failed[node] = true
	}
}

// waitDeps blocks until every known dep of node is done and reports the
// first failed one that is not optional.
func (r *graphRun) waitDeps(ctx context.Context, node string) error {
	for _, d := range r.deps[node] {
		if !r.known[d] || d == node {
			continue
		}
		select {
		case <-r.done[d]:
		case <-ctx.Done():
			return ctx.Err()
		}
		r.mu.Lock()
		f := r.failed[d]
		r.mu.Unlock()
		if f && (r.optional == nil || !r.optional(node, d)) {
			return fmt.Errorf("%w: %s", ErrDependencyFailed, d)
		}
	}
	return nil
}

// hasCycle reports whether deps, restricted to nodes, has a cycle, in
// which case graph.run would wait forever.
func hasCycle(nodes []string, deps map[string][]string) bool {
	const (
		unvisited = iota
		visiting
		visited
	)
	known := map[string]bool{}
	for _, n := range nodes {
		known[n] = true
	}
	state := map[string]int{}
	var visit func(n string) bool
	visit = func(n string) bool {
		switch state[n] {
		case visiting:
			return true
		case visited:
			return false
		}
		state[n] = visiting
		for _, d := range deps[n] {
			if known[d] && visit(d) {
				return true
			}
		}
		state[n] = visited
		return false
	}
	for _, n := range nodes {
		if visit(n) {
			return true
		}
	}
	return false
}

// projectDeps returns each service's depends_on services, sorted.
func projectDeps(p *types.Project) map[string][]string {
	deps := map[string][]string{}
	for name, s := range p.Services {
		for d := range s.DependsOn {
			deps[name] = append(deps[name], d)
		}
		sort.Strings(deps[name])
	}
	return deps
}

// reverseDeps turns "a depends on b" into "b waits for a", the order in
// which to stop.
func reverseDeps(deps map[string][]string) map[string][]string {
	rev := map[string][]string{}
	for n, ds := range deps {
		for _, d := range ds {
			rev[d] = append(rev[d], n)
		}
	}
	for n := range rev {
		sort.Strings(rev[n])
	}
	return rev
}

// startFirstKey is the project extension that names the service Up starts
// before the others (see StartFirst). It is set by the deploy after the
// project is loaded, not read from a compose file's meaning.
const startFirstKey = "x-bluegreen-start-first"

// StartFirst makes Up start service, the traffic service, before every
// other service when it depends on none of them: those start once its
// containers have started, while it boots. On a small host the daemon
// sets up the containers it is asked to start at the same time together,
// so the traffic service alone starts sooner, and the health check that
// the switch waits for can pass sooner; the other services' start
// overlaps the app's boot. A traffic service that depends on services of
// the project (a migration job, say) waits for them anyway, and the
// services that do not depend on it start beside those, as the file
// says: nothing would be gained by holding them back.
func StartFirst(p *types.Project, service string) {
	if p.Extensions == nil {
		p.Extensions = types.Extensions{}
	}
	p.Extensions[startFirstKey] = service
}

// withStartFirst returns deps with the service StartFirst named added as
// a dependency of every other service, when it depends on no service of
// the project itself: an order of starts, never a cycle.
func withStartFirst(p *types.Project, deps map[string][]string) map[string][]string {
	first, _ := p.Extensions[startFirstKey].(string)
	if _, ok := p.Services[first]; !ok {
		return deps
	}
	for _, d := range deps[first] {
		if _, ok := p.Services[d]; ok {
			return deps
		}
	}
	out := make(map[string][]string, len(p.Services))
	for name := range p.Services {
		out[name] = append([]string(nil), deps[name]...)
		if name != first && !slices.Contains(out[name], first) {
			out[name] = append(out[name], first)
		}
	}
	return out
}

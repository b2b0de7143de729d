package compose

import (
	"context"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startFirstProject: web depends on nothing in the project (db is
// outside it, a shared service); worker on cache; sidecar on web; lonely
// on nothing.
func startFirstProject() *types.Project {
	svc := func(name string, deps ...string) types.ServiceConfig {
		s := types.ServiceConfig{Name: name}
		if len(deps) > 0 {
			s.DependsOn = types.DependsOnConfig{}
		}
		for _, d := range deps {
			s.DependsOn[d] = types.ServiceDependency{Condition: types.ServiceConditionStarted, Required: true}
		}
		return s
	}
	return &types.Project{Name: "app-green", Services: types.Services{
		"web":     svc("web", "db"),
		"worker":  svc("worker", "cache"),
		"cache":   svc("cache"),
		"sidecar": svc("sidecar", "web"),
		"lonely":  svc("lonely"),
	}}
}

// TestStartFirstOrdersTheRestAfterTheTrafficService: every other service
// starts after the traffic service, unless it depends on a service of
// the project: then the file's order stands.
func TestStartFirstOrdersTheRestAfterTheTrafficService(t *testing.T) {
	t.Parallel()
	p := startFirstProject()
	deps := projectDeps(p)
	assert.Equal(t, deps, withStartFirst(p, deps), "without StartFirst the order is the file's")

	StartFirst(p, "web")
	got := withStartFirst(p, deps)
	assert.Equal(t, map[string][]string{
		"web":     {"db"},
		"worker":  {"cache", "web"},
		"cache":   {"web"},
		"sidecar": {"web"},
		"lonely":  {"web"},
	}, got)
	assert.False(t, hasCycle(p.ServiceNames(), got))
	assert.Empty(t, deps["lonely"], "deps itself is not changed")

	StartFirst(p, "gone")
	assert.Equal(t, deps, withStartFirst(p, deps), "a service the project does not have changes nothing")

	// A traffic service that waits for a job of the project: the rest
	// start beside the job, as the file says.
	p = startFirstProject()
	web := p.Services["web"]
	web.DependsOn["migrate"] = types.ServiceDependency{Condition: types.ServiceConditionCompletedSuccessfully, Required: true}
	p.Services["web"] = web
	p.Services["migrate"] = types.ServiceConfig{Name: "migrate"}
	deps = projectDeps(p)
	StartFirst(p, "web")
	assert.Equal(t, deps, withStartFirst(p, deps))
}

// TestStartFirstRunsTheTrafficServiceAlone: in a graph run with those
// dependencies, nothing runs until web is done.
func TestStartFirstRunsTheTrafficServiceAlone(t *testing.T) {
	t.Parallel()
	p := startFirstProject()
	StartFirst(p, "web")
	var mu sync.Mutex
	var order []string
	err := graph{nodes: p.ServiceNames(), deps: withStartFirst(p, projectDeps(p))}.run(context.Background(), func(_ context.Context, n string) error {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, n)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, order, 5)
	assert.Equal(t, "web", order[0])
}

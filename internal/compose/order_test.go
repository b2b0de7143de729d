package compose

import (
	"context"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startFirstProject: web depends on db (healthy) and migrate (a job),
// migrate on db; worker on cache; sidecar on web; lonely on nothing.
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
		"web":     svc("web", "db", "migrate"),
		"migrate": svc("migrate", "db"),
		"db":      svc("db"),
		"worker":  svc("worker", "cache"),
		"cache":   svc("cache"),
		"sidecar": svc("sidecar", "web"),
		"lonely":  svc("lonely"),
	}}
}

// TestStartFirstOrdersTheRestAfterTheTrafficService: every service the
// traffic service does not depend on starts after it; what it depends on
// keeps its own order, and nothing depends on anything new otherwise.
func TestStartFirstOrdersTheRestAfterTheTrafficService(t *testing.T) {
	t.Parallel()
	p := startFirstProject()
	deps := projectDeps(p)
	assert.Equal(t, deps, withStartFirst(p, deps), "without StartFirst the order is the file's")

	StartFirst(p, "web")
	got := withStartFirst(p, deps)
	assert.Equal(t, map[string][]string{
		"web":     {"db", "migrate"},
		"migrate": {"db"},
		"db":      nil,
		"worker":  {"cache", "web"},
		"cache":   {"web"},
		"sidecar": {"web"},
		"lonely":  {"web"},
	}, got)
	assert.False(t, hasCycle(p.ServiceNames(), got))
	assert.Equal(t, []string{"db", "migrate"}, deps["web"], "deps itself is not changed")
	assert.Empty(t, deps["lonely"])

	StartFirst(p, "gone")
	assert.Equal(t, deps, withStartFirst(p, deps), "a service the project does not have changes nothing")
}

// TestStartFirstRunsTheTrafficServiceAlone: in a graph run with those
// dependencies, nothing outside web's own dependencies runs until web is
// done.
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
	require.Len(t, order, 7)
	at := map[string]int{}
	for i, n := range order {
		at[n] = i
	}
	for _, n := range []string{"db", "migrate"} {
		assert.Less(t, at[n], at["web"], n)
	}
	for _, n := range []string{"worker", "cache", "sidecar", "lonely"} {
		assert.Greater(t, at[n], at["web"], n)
	}
}

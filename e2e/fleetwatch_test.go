//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/fleet"
)

// syncBuffer is a log several goroutines write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// requireServes checks every host's own nginx answers / with version.
func (e *fleetEnv) requireServes(version string) {
	e.t.Helper()
	for i, h := range e.fleet.hosts {
		code, body, err := h.get("/")
		require.NoError(e.t, err, "host %d", i+1)
		require.Equal(e.t, 200, code, "host %d: %s", i+1, body)
		require.True(e.t, strings.HasPrefix(body, "version="+version+" "), "host %d serves %q, not %s", i+1, body, version)
	}
}

// requireNoHelpers checks no helper container is left on any host.
func (e *fleetEnv) requireNoHelpers() {
	e.t.Helper()
	for i, h := range e.fleet.hosts {
		require.Eventually(e.t, func() bool {
			list, err := h.docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", fleet.LabelProject+"="+e.project))})
			return err == nil && len(list) == 0
		}, 20*time.Second, 200*time.Millisecond, "host %d has helper containers left", i+1)
	}
}

// watchFirst notes when a line with marker first appears in log; the
// returned function says when (zero if never).
func watchFirst(log *syncBuffer, marker string) func() time.Time {
	var mu sync.Mutex
	var at time.Time
	stop := make(chan struct{})
	go func() {
		for {
			if strings.Contains(log.String(), marker) {
				mu.Lock()
				at = time.Now()
				mu.Unlock()
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() time.Time {
		close(stop)
		mu.Lock()
		defer mu.Unlock()
		return at
	}
}

// watchHelpers inspects the fleet's helper containers on every host until
// the returned function is called, which returns what it saw.
func (e *fleetEnv) watchHelpers() func() []container.InspectResponse {
	var daemons []*client.Client
	for _, h := range e.fleet.hosts {
		daemons = append(daemons, h.docker)
	}
	return watchContainers(daemons, fleet.LabelProject+"="+e.project)
}

func hostsResult(t *testing.T, r fleetRun) []fleet.HostReport {
	t.Helper()
	var out []fleet.HostReport
	require.NoError(t, json.Unmarshal([]byte(r.outputs["hosts-result"]), &out), r.outputs["hosts-result"])
	return out
}

func results(reports []fleet.HostReport) []fleet.Status {
	var out []fleet.Status
	for _, r := range reports {
		out = append(out, r.Result)
	}
	return out
}

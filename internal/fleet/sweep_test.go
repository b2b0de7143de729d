package fleet

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"
)

// sweepDaemon is a Docker API on a unix socket that lists the given
// containers and records each request, the list's filters with it.
func sweepDaemon(t *testing.T, ids ...string) (*client.Client, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if i := strings.Index(path[1:], "/"); strings.HasPrefix(path, "/v1.") && i > 0 {
			path = path[i+1:]
		}
		call := r.Method + " " + path
		if f := r.URL.Query().Get("filters"); f != "" {
			call += " filters=" + f
		}
		if r.URL.Query().Get("force") != "" {
			call += " force=" + r.URL.Query().Get("force")
		}
		mu.Lock()
		seen = append(seen, call)
		mu.Unlock()
		w.Header().Set("API-Version", "1.41")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case path == "/_ping":
			_, _ = io.WriteString(w, "OK")
		case r.Method == http.MethodGet && path == "/containers/json":
			list := []map[string]string{}
			for _, id := range ids {
				list = append(list, map[string]string{"Id": id})
			}
			_ = json.NewEncoder(w).Encode(list)
		case r.Method == http.MethodDelete && strings.HasPrefix(path, "/containers/"):
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	})
	socket := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", socket)
	require.NoError(t, err)
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	docker, err := client.NewClientWithOpts(
		client.WithHost("unix://"+socket),
		client.WithVersion("1.41"),
		client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}),
	)
	require.NoError(t, err)
	return docker, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestCloseSweepsThisRolloutsStoppedHelpers: Close lists the helpers of
// this rollout that no longer run (created, exited or dead) and removes
// each; without a rollout id it asks for nothing.
func TestCloseSweepsThisRolloutsStoppedHelpers(t *testing.T) {
	t.Parallel()
	docker, calls := sweepDaemon(t, "c1", "c2")
	d := &Docker{RolloutID: "r42", conns: map[string]*conn{"h1": {docker: docker}}}
	d.Close()
	got := calls()
	require.Len(t, got, 3, "one list, one removal per helper: %q", got)
	var filters map[string]map[string]bool
	list := strings.TrimPrefix(got[0], "GET /containers/json filters=")
	require.NotEqual(t, got[0], list, "the first call lists containers with filters: %q", got[0])
	require.NoError(t, json.Unmarshal([]byte(list), &filters))
	require.Equal(t, map[string]map[string]bool{
		"label":  {LabelRollout + "=r42": true},
		"status": {"created": true, "exited": true, "dead": true},
	}, filters)
	require.Equal(t, []string{"DELETE /containers/c1 force=1", "DELETE /containers/c2 force=1"}, got[1:])
	require.Nil(t, d.conns, "the connections are closed and forgotten")

	docker, calls = sweepDaemon(t, "c1")
	d = &Docker{conns: map[string]*conn{"h1": {docker: docker}}}
	d.Close()
	require.Empty(t, calls(), "no rollout id: no helper of this rollout to find")

	d = &Docker{RolloutID: "r42", conns: map[string]*conn{"h1": {}}}
	d.Close() // a connection without a Docker client (an SSH one that failed half-way): nothing to ask
}

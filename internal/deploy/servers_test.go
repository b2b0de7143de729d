package deploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// twoApps starts two apps on consecutive host ports, as the replicas of a
// service published from a range are, and returns the first port. The
// ports are below Linux's ephemeral range (32768 up): there, a port next
// to a free one is often some outgoing connection's on a busy machine.
func twoApps(t *testing.T) (int, [2]*atomic.Int32) {
	t.Helper()
	var status [2]*atomic.Int32
	for try := 0; try < 50; try++ {
		port := 20000 + rand.IntN(12000)
		l1, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+1))
		if err != nil {
			l1.Close()
			continue
		}
		for i, l := range []net.Listener{l1, l2} {
			st := &atomic.Int32{}
			st.Store(http.StatusOK)
			status[i] = st
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(st.Load())) }))
			srv.Listener.Close()
			srv.Listener = l
			srv.Start()
			t.Cleanup(srv.Close)
		}
		return port, status
	}
	t.Fatal("found no two consecutive free ports in 50 tries")
	return 0, status
}

// TestReplicasAreEachProbedAndServed: a traffic service with replicas is
// healthy only when every replica is, and the include names every one of
// them, each by its own host port and container name.
func TestReplicasAreEachProbedAndServed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		second  int // the second replica's health answer
		wantErr bool
	}{
		{"both healthy", http.StatusOK, false},
		{"the second unhealthy", http.StatusServiceUnavailable, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			port, status := twoApps(t)
			status[1].Store(int32(tt.second))
			h.inputs["blue-port"] = strconv.Itoa(port)
			h.inputs["blue-compose-file"] = h.file("blue.yml", fmt.Sprintf("services:\n  web:\n    image: app:v1\n    scale: 2\n    ports: [\"%d-%d:8080\"]\n  worker:\n    image: worker:1\n", port, port+1))
			h.inputs["green-compose-file"] = h.file("green.yml", "services:\n  web:\n    image: app:v1\n    ports: [\"{GREEN}:8080\"]\n")
			h.inputs["nginx-include-template"] = "upstream app { {{range .Servers}}server {{.Host}}:{{.Port}}; # {{.ContainerName}}\n{{end}}}\n"
			_, err := h.run(context.Background(), nil)
			second := fmt.Sprintf("app-blue-web-2 on http://127.0.0.1:%d", port+1)
			assert.Contains(t, h.log.String(), second, "the second replica is probed")
			if tt.wantErr {
				require.ErrorIs(t, err, deploy.ErrUnhealthy)
				assert.Contains(t, err.Error(), fmt.Sprintf("http://127.0.0.1:%d/health", port+1))
				return
			}
			require.NoError(t, err)
			include, _ := h.sw.Include()
			assert.Contains(t, string(include), fmt.Sprintf("server 127.0.0.1:%d; # app-blue-web-1\n", port))
			assert.Contains(t, string(include), fmt.Sprintf("server 127.0.0.1:%d; # app-blue-web-2\n", port+1))
		})
	}
}

// TestListFailureDuringHealthFailsIt: when Docker cannot list the new
// color's containers to find its replicas, the health check fails with
// that error rather than probing a guess.
func TestListFailureDuringHealthFailsIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.eng.Hook = func(_ context.Context, m, a string) error {
		if m == "List" && a == "app-blue" && h.eng.Exists("app-blue") {
			return errInjected
		}
		return nil
	}
	_, err := h.run(context.Background(), nil)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, deploy.PhaseHealth, pe.Kind)
	require.ErrorIs(t, err, errInjected)
}

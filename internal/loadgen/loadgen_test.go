package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGeneratorCountsKinds(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Version", "v1")
		if r.URL.Path == "/slow" {
			time.Sleep(50 * time.Millisecond)
		}
		if n.Add(1)%10 == 0 && r.Method == http.MethodGet && r.URL.Path == "/" {
			w.WriteHeader(502)
		}
	}))
	defer srv.Close()
	g := Start(context.Background(), Config{BaseURL: srv.URL, SlowFor: 50 * time.Millisecond, MaxRequests: 400})
	time.Sleep(300 * time.Millisecond)
	records := g.Stop()
	require.LessOrEqual(t, len(records), 400)
	sum := Summary(records)
	for _, k := range Kinds {
		require.Positive(t, sum[k].Sent, k)
	}
	require.Positive(t, sum[KeepAliveGET].Non2xx+sum[NewConnGET].Non2xx, "502s are counted")
	problems := Check(records, []Switch{{Version: "v1", Began: records[0].Start}})
	require.NotEmpty(t, problems)
	require.Contains(t, problems[0], "non-2xx")
}

func TestCheck(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	switches := []Switch{{Version: "v1", Began: at(0), Drained: at(10)}, {Version: "v2", Began: at(100), Drained: at(200)}}
	tests := []struct {
		name string
		rec  Record
		want string
	}{
		{"old version before next switch", Record{Kind: Slow, Start: at(50), Status: 200, Version: "v1"}, ""},
		{"old version during the drain", Record{Kind: Slow, Start: at(150), Status: 200, Version: "v1"}, ""},
		{"old version after the drain", Record{Kind: KeepAliveGET, Start: at(250), Status: 200, Version: "v1"}, "after v2 had been switched to"},
		{"new version before its switch", Record{Kind: NewConnGET, Start: at(90), Status: 200, Version: "v2"}, "whose switch only began"},
		{"502", Record{Kind: NewConnGET, Start: at(90), Status: 502}, "non-2xx"},
		{"GET reset", Record{Kind: KeepAliveGET, Start: at(90), Err: "EOF", Reused: true}, "transport error"},
		{"POST idle reset", Record{Kind: POST, Start: at(90), Err: "read: connection reset by peer", Reused: true}, ""},
		{"POST reset on a new connection", Record{Kind: POST, Start: at(90), Err: "EOF"}, "transport error"},
		{"unknown version", Record{Kind: Slow, Start: at(90), Status: 200, Version: "v9"}, "unknown version"},
	}
	for _, tt := range tests {
		problems := Check([]Record{tt.rec}, switches)
		if tt.want == "" {
			require.Empty(t, problems, tt.name)
			continue
		}
		require.Len(t, problems, 1, tt.name)
		require.True(t, strings.Contains(problems[0], tt.want), "%s: %s", tt.name, problems[0])
	}
}

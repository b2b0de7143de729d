package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// benchmarkProbe measures one probe of a wait against a local app that
// answers 503 with a short body: the cost of the probes an app's start
// is watched with. With keep-alive the probes share one connection; the
// other case is the checker before it (a new connection per probe).
func benchmarkProbe(b *testing.B, client *http.Client) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("starting\n"))
	}))
	defer srv.Close()
	c := &Checker{URL: srv.URL + "/health", Timeout: time.Second, Client: client}
	p, err := c.prober(realClock{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if a := p.probe(ctx, i, 0); a.Status != http.StatusServiceUnavailable {
			b.Fatalf("probe: %v", a)
		}
	}
}

func BenchmarkProbeKeepAlive(b *testing.B) {
	benchmarkProbe(b, (&Checker{Timeout: time.Second}).newClient())
}

func BenchmarkProbeNewConnection(b *testing.B) {
	benchmarkProbe(b, &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}})
}

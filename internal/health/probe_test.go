package health

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWaitSendsHostAndHeaders: every probe carries the Host header and the
// extra headers, and an app that refuses other hosts (Django's
// ALLOWED_HOSTS) is healthy with them.
func TestWaitSendsHostAndHeaders(t *testing.T) {
	t.Parallel()
	type seen struct{ host, token, agent string }
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Host, r.Header.Get("X-Health-Token"), r.UserAgent()})
		n := len(got)
		mu.Unlock()
		switch {
		case r.Host != "app.example.com":
			w.WriteHeader(http.StatusBadRequest)
		case n < 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	c := &Checker{URL: srv.URL + "/up", Accept: accept(t, "200"), Retries: 5, Interval: time.Millisecond, Timeout: time.Second,
		Host: "app.example.com", Header: http.Header{"X-Health-Token": {"s3cret"}}}
	res, err := wait(t, c, nil)
	require.NoError(t, err)
	require.Len(t, res.Attempts, 3)
	want := seen{"app.example.com", "s3cret", userAgent}
	require.Equal(t, []seen{want, want, want}, got)
	for _, a := range res.Attempts {
		require.NotContains(t, a.String(), "s3cret", "a header value is never part of an attempt")
	}

	c.Host = ""
	_, err = wait(t, c, nil)
	require.ErrorIs(t, err, ErrUnhealthy)
	require.Contains(t, err.Error(), "HTTP 400", "without the Host header the app refuses the probe")
	require.NotContains(t, err.Error(), "s3cret")
}

// TestWaitHeaderOverridesUserAgent: a User-Agent among the headers
// replaces the probe's own.
func TestWaitHeaderOverridesUserAgent(t *testing.T) {
	t.Parallel()
	agents := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { agents <- r.UserAgent() }))
	defer srv.Close()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 1, Interval: time.Millisecond, Timeout: time.Second,
		Header: http.Header{"User-Agent": {"monitor/1"}}}
	_, err := wait(t, c, nil)
	require.NoError(t, err)
	require.Equal(t, "monitor/1", recv(t, agents, "the probe"))
}

// TestWaitReusesConnection: the probes of a wait share one kept-alive
// connection, which is closed when the wait ends.
func TestWaitReusesConnection(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 5 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(strings.Repeat("starting ", 100))) // longer than what an attempt shows
		}
	}))
	var opened atomic.Int64
	closed := make(chan struct{}, 10)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed:
			closed <- struct{}{}
		}
	}
	srv.Start()
	defer srv.Close()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 10, Interval: time.Millisecond, Timeout: time.Second}
	res, err := wait(t, c, nil)
	require.NoError(t, err)
	require.Len(t, res.Attempts, 5)
	require.Equal(t, int64(1), opened.Load(), "five probes, one connection")
	recv(t, closed, "the close of the connection after the wait")
}

// TestWaitAcceptThenCloseIsNotHealthy: Docker's userland proxy accepts a
// connection on a published port before the app listens, then closes it.
// A connect is not an answer.
func TestWaitAcceptThenCloseIsNotHealthy(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	c := &Checker{URL: "http://" + ln.Addr().String() + "/", Accept: accept(t, "200"), Retries: 3, Interval: time.Millisecond, Timeout: time.Second}
	res, err := wait(t, c, nil)
	require.ErrorIs(t, err, ErrUnhealthy)
	require.Len(t, res.Attempts, 3)
	for _, a := range res.Attempts {
		require.Zero(t, a.Status)
		require.Equal(t, "connection closed without an HTTP answer (the app does not listen yet)", a.Detail)
	}
}

// TestWaitHTTPS: an app that serves only TLS is probed over https when
// Scheme says so, though the deploy hands over an http:// URL.
func TestWaitHTTPS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close) // after the parallel subtests
	plainURL := "http://" + srv.Listener.Addr().String() + "/health"
	trusted := x509.NewCertPool()
	trusted.AddCert(srv.Certificate()) // httptest's certificate is for example.com and 127.0.0.1
	tests := []struct {
		name    string
		checker Checker
		wantErr string // empty: healthy
	}{
		{name: "self-signed accepted", checker: Checker{Scheme: "https", InsecureTLS: true}},
		{name: "self-signed refused by default", checker: Checker{Scheme: "https"},
			wantErr: "the TLS certificate is not signed by a trusted authority (for a self-signed certificate set health-insecure-tls: true)"},
		{name: "trusted for the address", checker: Checker{Scheme: "https", RootCAs: trusted}},
		{name: "host is the name checked", checker: Checker{Scheme: "https", RootCAs: trusted, Host: "example.com"}},
		{name: "host with a port", checker: Checker{Scheme: "https", RootCAs: trusted, Host: "example.com:8443"}},
		{name: "certificate for another name", checker: Checker{Scheme: "https", RootCAs: trusted, Host: "wrong.test"},
			wantErr: "the TLS certificate is not valid for wrong.test (set health-host to the name it is for)"},
		{name: "plain http to a TLS app", checker: Checker{}, wantErr: "HTTP 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.checker
			c.URL, c.Accept, c.Retries, c.Interval, c.Timeout = plainURL, accept(t, "200"), 1, time.Millisecond, time.Second
			_, err := wait(t, &c, nil)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrUnhealthy)
			require.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

// TestWaitHTTPSToPlainApp: https to an app that answers plain HTTP says
// which scheme to use.
func TestWaitHTTPSToPlainApp(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := &Checker{URL: srv.URL, Scheme: "https", Accept: accept(t, "200"), Retries: 1, Interval: time.Millisecond, Timeout: time.Second}
	_, err := wait(t, c, nil)
	require.ErrorIs(t, err, ErrUnhealthy)
	require.Contains(t, err.Error(), "https://"+srv.Listener.Addr().String()+" did not answer")
	require.Contains(t, err.Error(), "the app answered plain HTTP to a TLS handshake (set health-scheme: http)")
}

// TestWaitNotFoundNamesPath: 404 to the end says the path is probably
// wrong and names it; another failing status does not.
func TestWaitNotFoundNamesPath(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	c := &Checker{URL: srv.URL + "/helth?full=1", Accept: accept(t, "200"), Retries: 4, Interval: time.Millisecond, Timeout: time.Second}
	_, err := wait(t, c, nil)
	require.ErrorIs(t, err, ErrUnhealthy)
	require.Contains(t, err.Error(), `it answered 404 Not Found 3 time(s), so the path "/helth?full=1" is probably wrong: check health-path`)

	srv503 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer srv503.Close()
	c.URL = srv503.URL + "/health"
	_, err = wait(t, c, nil)
	require.ErrorIs(t, err, ErrUnhealthy)
	require.NotContains(t, err.Error(), "probably wrong")
}

// TestWaitBadURL: a URL that cannot be requested fails before any probe.
func TestWaitBadURL(t *testing.T) {
	t.Parallel()
	c := &Checker{URL: "http://[::1/health", Accept: accept(t, "200"), Retries: 1, Interval: time.Millisecond, Timeout: time.Second}
	res, err := wait(t, c, nil)
	require.ErrorContains(t, err, "failed to read health check URL")
	require.Empty(t, res.Attempts)
}

// TestProbeBody: the start of the body is shown quoted and cut, so that
// an app's text cannot pass for a line of the job log.
func TestProbeBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("\n::error::pwned\n" + strings.Repeat("x", 300)))
	}))
	defer srv.Close()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 1, Interval: time.Millisecond, Timeout: time.Second}
	res, err := wait(t, c, nil)
	require.ErrorIs(t, err, ErrUnhealthy)
	a := res.Last()
	require.Equal(t, 503, a.Status)
	require.Equal(t, `"::error::pwned\n`+strings.Repeat("x", 65)+`…"`, a.Detail)
	require.NotContains(t, err.Error(), "\n")
}

// TestProbeBodyOf80 shows a body of 80 characters whole.
func TestProbeBodyOf80(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("b", 80)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	c := &Checker{URL: srv.URL, Accept: accept(t, "200"), Retries: 1, Interval: time.Millisecond, Timeout: time.Second}
	res, _ := wait(t, c, nil)
	require.Equal(t, `"`+body+`"`, res.Last().Detail)
}

// TestWaitHostIsServerName: over https the Host header is also the name
// the probe asks the server's certificate for (SNI), trusted or not.
func TestWaitHostIsServerName(t *testing.T) {
	t.Parallel()
	names := make(chan string, 10)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		names <- hello.ServerName
		return nil, nil
	}}
	srv.StartTLS()
	defer srv.Close()
	c := &Checker{URL: srv.URL, Scheme: "https", Host: "app.example.com:8443", Accept: accept(t, "200"), Retries: 1, Interval: time.Millisecond, Timeout: time.Second}
	_, err := wait(t, c, nil)
	require.ErrorIs(t, err, ErrUnhealthy, "httptest's certificate is not trusted")
	require.Equal(t, "app.example.com", recv(t, names, "the TLS handshake"))
}

func TestServerName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"example.com": "example.com", "example.com:8443": "example.com", "[::1]:8443": "::1", "[::1]": "::1", "": "",
	} {
		require.Equal(t, want, serverName(in), in)
	}
}

func TestAttemptString(t *testing.T) {
	t.Parallel()
	require.Equal(t, "#2 at 150ms: connection refused", Attempt{N: 2, At: 150 * time.Millisecond, Detail: "connection refused"}.String())
	require.Equal(t, `#3 at 1.2s: HTTP 503 "starting"`, Attempt{N: 3, At: 1200 * time.Millisecond, Status: 503, Detail: `"starting"`}.String())
	require.Equal(t, "HTTP 503", describe(Attempt{Status: 503}))
	require.Equal(t, `HTTP 503 "x"`, describe(Attempt{Status: 503, Detail: `"x"`}))
	require.Equal(t, "refused", describe(Attempt{Detail: "refused"}))
	require.Equal(t, Attempt{}, Result{}.Last())
}

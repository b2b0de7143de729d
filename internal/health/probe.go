package health

// One probe, and the client every probe of a wait shares.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// userAgent names the probe in the app's access log.
const userAgent = "bluegreen-health-check"

// Body limits: the first bodyShown bytes of an answer go into the
// attempt, and up to bodyDrained are read so that the connection can carry
// the next probe; an answer longer than that costs a new connection.
const (
	bodyShown   = 200
	bodyDrained = 64 << 10
)

// prober sends the probes of one wait: one client, so that a kept-alive
// connection carries probe after probe, and one request that each probe
// sends with its own deadline.
type prober struct {
	url     string // as probed, with Scheme applied
	req     *http.Request
	client  *http.Client
	own     bool // the client was made here and is closed with the wait
	timeout time.Duration
	clock   Clock
}

// prober checks the URL and builds the request and client of a wait.
func (c *Checker) prober(clock Clock) (*prober, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("failed to read health check URL: %w", err)
	}
	if c.Scheme != "" {
		u.Scheme = c.Scheme
	}
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("failed to build health check request for %s: %w", u, err)
	}
	for name, values := range c.Header {
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	if c.Host != "" {
		req.Host = c.Host
	}
	p := &prober{url: u.String(), req: req, client: c.Client, timeout: c.Timeout, clock: clock}
	if p.client == nil {
		p.client, p.own = c.newClient(), true
	}
	return p, nil
}

// newClient keeps one connection alive from probe to probe (a probe on a
// kept connection costs no dial and no TLS handshake), never uses a proxy
// from the environment, and does not follow redirects.
func (c *Checker) newClient() *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		// An empty ServerName is the URL's host, as by default.
		TLSClientConfig: &tls.Config{
			ServerName:         serverName(c.Host),
			RootCAs:            c.RootCAs,
			InsecureSkipVerify: c.InsecureTLS, //nolint:gosec // health-insecure-tls: the user's choice for a self-signed certificate
			MinVersion:         tls.VersionTLS12,
		},
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// serverName is the TLS name for a Host header: without its port.
func serverName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return strings.Trim(h, "[]")
	}
	return strings.Trim(host, "[]")
}

// close drops the kept connection: the app should not hold a socket open
// for a checker that is done.
func (p *prober) close() {
	if p.own {
		p.client.CloseIdleConnections()
	}
}

// probe sends one request: attempt n, begun at since the wait began.
func (p *prober) probe(ctx context.Context, n int, at time.Duration) Attempt {
	began := p.clock.Now()
	a := Attempt{N: n, At: at}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	resp, err := p.client.Do(p.req.WithContext(ctx))
	a.Elapsed = p.clock.Now().Sub(began)
	if err != nil {
		a.Detail = shortError(err, p.timeout)
		return a
	}
	defer resp.Body.Close()
	a.Status = resp.StatusCode
	var buf [bodyShown]byte
	shown, _ := io.ReadFull(resp.Body, buf[:])
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, bodyDrained))
	if shown == 0 {
		return a
	}
	// The body is the app's text, not ours: quoted, so that nothing in it
	// can start a line of the job log or pass for a workflow command.
	detail := strings.TrimSpace(string(buf[:shown]))
	if len(detail) > 80 {
		detail = strings.ToValidUTF8(detail[:80], "") + "…"
	}
	if detail != "" {
		a.Detail = strconv.Quote(detail)
	}
	return a
}

// pathOf returns the path and query a URL asks for.
func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.RequestURI()
}

// shortError turns a transport error into what a user can act on.
func shortError(err error, timeout time.Duration) string {
	msg := err.Error()
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "Client.Timeout"):
		return fmt.Sprintf("no answer within health-timeout %s", timeout)
	case strings.Contains(msg, "connection refused"):
		return "connection refused (nothing listens on the port yet)"
	case errors.As(err, &unknownCA):
		return "the TLS certificate is not signed by a trusted authority (for a self-signed certificate set health-insecure-tls: true)"
	case errors.As(err, &hostname):
		return fmt.Sprintf("the TLS certificate is not valid for %s (set health-host to the name it is for)", hostname.Host)
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return "the app answered plain HTTP to a TLS handshake (set health-scheme: http)"
	case strings.Contains(msg, "malformed HTTP response"):
		return "the app's answer is not HTTP; does it serve TLS? (set health-scheme: https)"
	case strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF") || strings.Contains(msg, "server closed idle connection"):
		return "connection closed without an HTTP answer (the app does not listen yet)"
	}
	return msg
}

// Package loadgen sends bounded traffic through nginx's front door while
// deploys run, and records every request: when it started and ended, what
// answered, and how it failed. Zero downtime is a claim about these
// records, so the package keeps them all rather than only counters.
//
// Four kinds of client run at once, as ZERO-DOWNTIME.md asks: GETs on a
// kept-alive connection, GETs on a new connection each, POSTs with a body on
// a kept-alive connection (Go does not retry them when nginx closes an idle
// connection at reload, so their resets are counted apart), and slow
// requests that straddle a switch.
package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kind is a kind of client.
type Kind string

// The kinds of client.
const (
	KeepAliveGET Kind = "keepalive-get"
	NewConnGET   Kind = "newconn-get"
	POST         Kind = "post"
	Slow         Kind = "slow"
)

// Kinds lists every kind in report order.
var Kinds = []Kind{KeepAliveGET, NewConnGET, POST, Slow}

// Config bounds the traffic. Zero counts use the defaults.
type Config struct {
	// BaseURL is the front door, for example http://127.0.0.1:8080.
	BaseURL string
	// Workers per kind (default 2 each, 1 for Slow... see Defaults).
	Workers map[Kind]int
	// Pause between two requests of one worker (default 5ms).
	Pause time.Duration
	// SlowFor is how long a slow request takes at the app (default 1.5s).
	SlowFor time.Duration
	// BodySize is the POST body's size (default 4 KiB).
	BodySize int
	// MaxRequests caps the whole run (default 200 000).
	MaxRequests int
	// Timeout per request (default 10s).
	Timeout time.Duration
}

// Record is one request.
type Record struct {
	Kind    Kind
	Start   time.Time
	End     time.Time
	Status  int    // 0 when no HTTP answer came
	Version string // X-App-Version of the answer
	Err     string // transport error
	Reused  bool   // sent on a kept-alive connection
}

// OK reports a 2xx answer.
func (r Record) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Generator runs the clients.
type Generator struct {
	cfg     Config
	mu      sync.Mutex
	records []Record
	count   int
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Start begins sending. Stop ends it and returns the records.
func Start(ctx context.Context, cfg Config) *Generator {
	if cfg.Workers == nil {
		cfg.Workers = map[Kind]int{KeepAliveGET: 2, NewConnGET: 2, POST: 1, Slow: 2}
	}
	if cfg.Pause == 0 {
		cfg.Pause = 5 * time.Millisecond
	}
	if cfg.SlowFor == 0 {
		cfg.SlowFor = 1500 * time.Millisecond
	}
	if cfg.BodySize == 0 {
		cfg.BodySize = 4096
	}
	if cfg.MaxRequests == 0 {
		cfg.MaxRequests = 200_000
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	g := &Generator{cfg: cfg, cancel: cancel}
	for _, kind := range Kinds {
		for i := 0; i < cfg.Workers[kind]; i++ {
			g.wg.Add(1)
			go g.worker(ctx, kind, i)
		}
	}
	return g
}

// Stop ends the traffic, waits for requests in flight, and returns every
// record in start order.
func (g *Generator) Stop() []Record {
	g.cancel()
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	out := append([]Record(nil), g.records...)
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

func (g *Generator) worker(ctx context.Context, kind Kind, n int) {
	defer g.wg.Done()
	transport := &http.Transport{
		Proxy:               nil,
		DisableKeepAlives:   kind == NewConnGET,
		MaxIdleConnsPerHost: 1,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: g.cfg.Timeout}
	body := bytes.Repeat([]byte("x"), g.cfg.BodySize)
	if kind == Slow && n > 0 {
		// Stagger slow workers so that one is always in flight.
		select {
		case <-ctx.Done():
			return
		case <-time.After(g.cfg.SlowFor * time.Duration(n) / time.Duration(g.cfg.Workers[Slow])):
		}
	}
	for {
		if ctx.Err() != nil || !g.take() {
			return
		}
		var req *http.Request
		switch kind {
		case POST:
			req, _ = http.NewRequest(http.MethodPost, g.cfg.BaseURL+"/echo", bytes.NewReader(body))
		case Slow:
			req, _ = http.NewRequest(http.MethodGet, fmt.Sprintf("%s/slow?ms=%d", g.cfg.BaseURL, g.cfg.SlowFor.Milliseconds()), nil)
		default:
			req, _ = http.NewRequest(http.MethodGet, g.cfg.BaseURL+"/", nil)
		}
		g.add(do(client, req, kind))
		select {
		case <-ctx.Done():
			return
		case <-time.After(g.cfg.Pause):
		}
	}
}

// take reserves one request under MaxRequests.
func (g *Generator) take() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.count >= g.cfg.MaxRequests {
		return false
	}
	g.count++
	return true
}

func (g *Generator) add(r Record) {
	g.mu.Lock()
	g.records = append(g.records, r)
	g.mu.Unlock()
}

// do sends one request. It is not tied to the generator's context: a
// request in flight when Stop is called finishes, so that the last slow
// request is judged like every other.
func do(client *http.Client, req *http.Request, kind Kind) Record {
	rec := Record{Kind: kind, Start: time.Now()}
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { rec.Reused = info.Reused }}
	req = req.WithContext(httptrace.WithClientTrace(context.Background(), trace))
	resp, err := client.Do(req)
	if err != nil {
		rec.End = time.Now()
		rec.Err = err.Error()
		return rec
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	rec.End = time.Now()
	rec.Status = resp.StatusCode
	rec.Version = resp.Header.Get("X-App-Version")
	if err != nil {
		rec.Err = "reading body: " + err.Error()
	}
	return rec
}

// Counts summarises one kind.
type Counts struct {
	Sent      int
	OK        int
	Non2xx    int
	Transport int
	// IdleResets are transport errors on a reused kept-alive connection
	// that nginx closed as idle (at reload): the keep-alive race of
	// ZERO-DOWNTIME.md, not a failure of the switch.
	IdleResets int
}

// Summary counts records per kind.
func Summary(records []Record) map[Kind]*Counts {
	out := map[Kind]*Counts{}
	for _, k := range Kinds {
		out[k] = &Counts{}
	}
	for _, r := range records {
		c := out[r.Kind]
		c.Sent++
		switch {
		case r.Err != "" && r.Status == 0:
			c.Transport++
			if IsIdleReset(r) {
				c.IdleResets++
			}
		case r.OK():
			c.OK++
		default:
			c.Non2xx++
		}
	}
	return out
}

// IsIdleReset tells the keep-alive race from other transport errors: the
// request went out on a reused connection and the server closed it without
// an answer.
func IsIdleReset(r Record) bool {
	if !r.Reused || r.Err == "" {
		return false
	}
	for _, s := range []string{"EOF", "connection reset by peer", "server closed idle connection", "broken pipe", "use of closed network connection"} {
		if strings.Contains(r.Err, s) {
			return true
		}
	}
	return false
}

// Format renders the summary as a table.
func Format(sum map[Kind]*Counts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %8s %8s %8s %10s %12s\n", "kind", "sent", "ok", "non-2xx", "transport", "idle-resets")
	for _, k := range Kinds {
		c := sum[k]
		fmt.Fprintf(&b, "%-14s %8d %8d %8d %10d %12d\n", k, c.Sent, c.OK, c.Non2xx, c.Transport, c.IdleResets)
	}
	return b.String()
}

// Switch marks one deploy for the ordering checks: the version it put in
// service, when its nginx switch began, and when its drain ended.
type Switch struct {
	Version string
	Began   time.Time
	Drained time.Time
}

// Check judges records against the zero-downtime claim and returns every
// violation (empty when none):
//   - no GET or slow request may fail, by status or transport;
//   - a POST may only fail by the keep-alive race (IsIdleReset), never
//     with an HTTP error;
//   - a version answers only requests that started after its switch began
//     (so none before its health check passed), and no request that started
//     after the next switch's drain ended.
func Check(records []Record, switches []Switch) []string {
	index := map[string]int{}
	for i, s := range switches {
		index[s.Version] = i
	}
	var problems []string
	add := func(r Record, format string, args ...any) {
		if len(problems) < 50 {
			problems = append(problems, fmt.Sprintf("%s %s at %s: ", r.Kind, describe(r), r.Start.Format("15:04:05.000"))+fmt.Sprintf(format, args...))
		}
	}
	for _, r := range records {
		switch {
		case r.Status == 0 && r.Kind == POST && IsIdleReset(r):
			continue
		case r.Status == 0:
			add(r, "transport error")
			continue
		case !r.OK():
			add(r, "non-2xx answer")
			continue
		}
		if len(switches) == 0 {
			continue
		}
		k, ok := index[r.Version]
		if !ok {
			add(r, "answered by unknown version %q", r.Version)
			continue
		}
		if r.Start.Before(switches[k].Began) {
			add(r, "answered by %s, whose switch only began at %s", r.Version, switches[k].Began.Format("15:04:05.000"))
		}
		if k+1 < len(switches) && !switches[k+1].Drained.IsZero() && r.Start.After(switches[k+1].Drained) {
			add(r, "answered by %s after %s had been switched to and drained at %s", r.Version, switches[k+1].Version, switches[k+1].Drained.Format("15:04:05.000"))
		}
	}
	return problems
}

func describe(r Record) string {
	if r.Status == 0 {
		return fmt.Sprintf("(%s, reused=%v)", r.Err, r.Reused)
	}
	return fmt.Sprintf("(HTTP %d, %s)", r.Status, r.Version)
}

//go:build e2e

package nginx

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// streamServer is a color that answers "/" with its name, "/events" with a
// server-sent-events stream and "/ws" with a WebSocket, each sending the
// color's name every 50 ms until the connection ends.
type streamServer struct {
	*httptest.Server
	data TemplateData
	mu   sync.Mutex
	ws   []net.Conn
}

func newStreamServer(t *testing.T, c color.Color) *streamServer {
	t.Helper()
	s := &streamServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("X-Accel-Buffering", "no")
			for {
				if _, err := fmt.Fprintf(w, "data: %s\n\n", c); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		case "/ws":
			s.serveWebSocket(w, r, c)
		default:
			fmt.Fprint(w, c)
		}
	}))
	t.Cleanup(s.stop)
	addr := s.Listener.Addr().(*net.TCPAddr)
	s.data = TemplateData{Color: c.String(), Host: "127.0.0.1", Port: addr.Port, DeployID: "test-" + c.String()}
	return s
}

// serveWebSocket answers the opening handshake (RFC 6455) and sends
// unmasked text frames; nginx relays the upgraded bytes as they are.
func (s *streamServer) serveWebSocket(w http.ResponseWriter, r *http.Request, c color.Color) {
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	s.mu.Lock()
	s.ws = append(s.ws, conn)
	s.mu.Unlock()
	fmt.Fprintf(buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	for {
		payload := c.String()
		buf.Write([]byte{0x81, byte(len(payload))})
		buf.WriteString(payload)
		if buf.Flush() != nil {
			conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop is the old color being stopped: every connection to it is cut.
func (s *streamServer) stop() {
	s.CloseClientConnections()
	s.mu.Lock()
	for _, c := range s.ws {
		c.Close()
	}
	s.mu.Unlock()
	s.Close()
}

// openStream opens /events or /ws through nginx and returns the messages
// as they come; the channel is closed when the stream ends.
func openStream(t *testing.T, kind, hostport string) <-chan string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", hostport, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	if kind == "sse" {
		fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: app\r\nAccept: text/event-stream\r\n\r\n")
	} else {
		fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	require.NoError(t, err)
	want := map[string]string{"sse": "200", "ws": "101"}[kind]
	require.Contains(t, status, " "+want+" ", "opening %s through nginx", kind)
	for {
		l, err := br.ReadString('\n')
		require.NoError(t, err)
		if l == "\r\n" {
			break
		}
	}
	out := make(chan string, 1024)
	go func() {
		defer close(out)
		for {
			msg, err := readMessage(kind, br)
			if err != nil {
				return
			}
			out <- msg
		}
	}()
	return out
}

// readMessage reads one SSE event (from a chunked body) or one WebSocket frame.
func readMessage(kind string, br *bufio.Reader) (string, error) {
	if kind == "ws" {
		head := make([]byte, 2)
		if _, err := io.ReadFull(br, head); err != nil {
			return "", err
		}
		payload := make([]byte, head[1]&0x7f)
		_, err := io.ReadFull(br, payload)
		return string(payload), err
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "data: "); ok {
			return rest, nil
		}
	}
}

// next waits for the stream's next message; ended is true when it ended.
func next(t *testing.T, ch <-chan string, within time.Duration) (msg string, ended bool) {
	t.Helper()
	select {
	case m, ok := <-ch:
		return m, !ok
	case <-time.After(within):
		t.Fatalf("no message and no end of the stream within %s", within)
		return "", false
	}
}

// endOf drains ch until it ends, failing after within.
func endOf(t *testing.T, ch <-chan string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("the stream did not end within %s", within)
		}
	}
}

const streamServerBlock = `
    include %INCLUDE%;
    location / {
        proxy_pass $service_url;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $bg_connection;
        proxy_read_timeout 1h;
    }
`

// TestRealLongLivedConnectionsAcrossSwitch is the policy docs/zero-downtime.md
// states, for a server-sent-events stream and a WebSocket held through a
// real nginx across a switch. Without worker_shutdown_timeout the stream
// stays on the old color, held by an old worker, past the drain's bound
// (which the drain respects, counting the connection), until the old color
// is stopped; then it ends and a new one reaches the new color. With
// worker_shutdown_timeout, nginx itself ends the stream soon after the
// switch, the drain finishes inside its bound, and nothing is left for the
// old color's stop to cut.
func TestRealLongLivedConnectionsAcrossSwitch(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sse", "ws"} {
		for _, shutdown := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/worker_shutdown_timeout=%v", kind, shutdown), func(t *testing.T) {
				t.Parallel()
				blue, green := newStreamServer(t, color.Blue), newStreamServer(t, color.Green)
				tmpl := MustParseTemplate(DefaultTemplate)
				n := startNginx(t, testenv.NginxOptions{
					Include: string(mustRender(t, tmpl, blue.data)),
					HTTP:    "    map $http_upgrade $bg_connection { default upgrade; '' close; }\n",
					Server:  streamServerBlock,
				})
				sw := &Switcher{IncludePath: n.IncludePath, TestCmd: n.TestCmd(), ReloadCmd: n.ReloadCmd(), Logf: t.Logf}
				ctx := context.Background()
				if shutdown {
					conf, err := os.ReadFile(n.Conf)
					require.NoError(t, err)
					require.NoError(t, os.WriteFile(n.Conf, append([]byte("worker_shutdown_timeout 1s;\n"), conf...), 0o644))
					r, err := sw.Switch(ctx, mustRender(t, tmpl, blue.data))
					require.NoError(t, err)
					_, err = Drain(ctx, r, "", 10*time.Second)
					require.NoError(t, err)
				}
				set, err := WorkerShutdownTimeoutSet(ctx, nil, n.TestCmd())
				require.NoError(t, err)
				require.Equal(t, shutdown, set)

				stream := openStream(t, kind, fmt.Sprintf("127.0.0.1:%d", n.Port))
				msg, ended := next(t, stream, 5*time.Second)
				require.False(t, ended)
				require.Equal(t, "blue", msg)

				switched := time.Now()
				r, err := sw.Switch(ctx, mustRender(t, tmpl, green.data))
				require.NoError(t, err)
				require.NoError(t, ConfirmMarker(ctx, FrontDoor{URL: n.URL("")}, Marker{Color: color.Green, DeployID: "test-green"}, 3, 10*time.Second))
				upstream := fmt.Sprintf("127.0.0.1:%d", blue.data.Port)
				if !shutdown {
					res, err := Drain(ctx, r, upstream, 1500*time.Millisecond)
					require.NoError(t, err)
					assert.True(t, res.TimedOut, "the drain must stop at its bound")
					assert.Equal(t, 1, res.OldConnections, "the summary's count: %v", res.StillOpen)
					assert.Equal(t, 1, res.OldWorkers)
					msg, ended := next(t, stream, 5*time.Second)
					require.False(t, ended, "the stream ended before the old color was stopped")
					assert.Equal(t, "blue", msg, "an old stream stays on the old color")
					assert.Equal(t, "green", get(t, n.URL("/")))
					stopped := time.Now()
					blue.stop() // the deploy stops the old color after the drain
					endOf(t, stream, 10*time.Second)
					t.Logf("measured: drain ended at its bound after %s with %d connection(s) to the old color; the stream ended %s after the old color was stopped",
						res.Waited.Round(time.Millisecond), res.OldConnections, time.Since(stopped).Round(time.Millisecond))
					res, err = Drain(ctx, r, upstream, 10*time.Second)
					require.NoError(t, err)
					assert.False(t, res.TimedOut, "the old worker outlived its last connection: %v", res.StillOpen)
				} else {
					res, err := Drain(ctx, r, upstream, 20*time.Second)
					require.NoError(t, err)
					assert.False(t, res.TimedOut, "worker_shutdown_timeout did not end the old worker: %v", res.StillOpen)
					assert.Zero(t, res.OldConnections)
					endOf(t, stream, 5*time.Second)
					t.Logf("measured: with worker_shutdown_timeout 1s the drain ended %s after the switch began, and the stream with it",
						time.Since(switched).Round(time.Millisecond))
				}
				again := openStream(t, kind, fmt.Sprintf("127.0.0.1:%d", n.Port))
				msg, ended = next(t, again, 5*time.Second)
				require.False(t, ended)
				assert.Equal(t, "green", msg, "a reconnecting client reaches the new color")
			})
		}
	}
}

//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// streamServer is the seed's server block made fit for long-lived
// connections: HTTP/1.1 upstream, the Upgrade handshake passed on, no
// buffering of event streams.
const streamServer = `
    include %INCLUDE%;
    location / {
        proxy_pass $service_url;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $bg_connection;
        proxy_set_header Host $http_host;
        proxy_buffering off;
        proxy_read_timeout 1h;
    }
`

// TestLongLivedConnectionsAcrossDeploys: a WebSocket and an SSE stream
// held through the front door across 3 deploys behave as
// docs/zero-downtime.md says for an nginx without worker_shutdown_timeout:
// each stays on the color it was opened on (never a message of the new
// version), the drain respects its bound and says what was still open,
// the stream ends when the old color is stopped, and a new stream reaches
// the new version.
func TestLongLivedConnectionsAcrossDeploys(t *testing.T) {
	f := newFixture(t, nil)
	f.nginx = testenv.StartNginx(t, testenv.NginxOptions{
		HTTP:   "    map $http_upgrade $bg_connection { default upgrade; '' close; }\n",
		Server: streamServer,
	})
	f.inputs["nginx-include-path"] = f.nginx.IncludePath
	f.inputs["nginx-test-command"] = strings.Join(f.nginx.TestCmd(), " ")
	f.inputs["nginx-reload-command"] = strings.Join(f.nginx.ReloadCmd(), " ")
	f.inputs["drain-timeout"] = "2s"
	hostport := strings.TrimPrefix(f.nginx.URL(""), "http://")

	r := f.deploy(nil, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	colors := []string{"blue", "green"}
	for i := 2; i <= 4; i++ {
		old, next := fmt.Sprintf("v%d", i-1), fmt.Sprintf("v%d", i)
		oldColor := colors[(i)%2]
		streams := map[string]<-chan string{"sse": openAppStream(t, "sse", hostport), "ws": openAppStream(t, "ws", hostport)}
		for kind, ch := range streams {
			msg, ended := nextMessage(t, ch, 5*time.Second)
			require.False(t, ended, "%s ended before the deploy", kind)
			require.Equal(t, "version="+old+" color="+oldColor, msg, kind)
		}
		r := f.deploy(nil, "VERSION="+next)
		require.Equal(t, 0, r.code, r.out)
		require.Contains(t, r.out, "drain-timeout 2s reached while still open", "the drain respects its bound and names what was open")
		require.True(t, r.result.Drain.TimedOut)
		require.GreaterOrEqual(t, r.result.Drain.OldConnections, 2, "the old color's connections are counted")
		require.Contains(t, r.result.Summary(f.project), fmt.Sprintf("| Cut at the drain's end | %d connection(s) to the old color", r.result.Drain.OldConnections))
		for kind, ch := range streams {
			// Every message until the end is the old color's: a reload
			// never moves an open connection.
			deadline := time.After(10 * time.Second)
		drain:
			for {
				select {
				case msg, ok := <-ch:
					if !ok {
						break drain
					}
					require.Equal(t, "version="+old+" color="+oldColor, msg, "%s moved to another color", kind)
				case <-deadline:
					t.Fatalf("%s opened on %s did not end after %s was stopped", kind, oldColor, oldColor)
				}
			}
		}
		for _, kind := range []string{"sse", "ws"} {
			msg, ended := nextMessage(t, openAppStream(t, kind, hostport), 5*time.Second)
			require.False(t, ended)
			require.Equal(t, "version="+next+" color="+colors[(i+1)%2], msg, "a new %s reaches the new version", kind)
		}
	}
}

// openAppStream opens the app's /events or /ws through nginx and returns
// its messages; the channel is closed when the stream ends.
func openAppStream(t *testing.T, kind, hostport string) <-chan string {
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
	require.Contains(t, status, " "+map[string]string{"sse": "200", "ws": "101"}[kind]+" ", "opening %s through nginx", kind)
	for {
		l, err := br.ReadString('\n')
		require.NoError(t, err)
		if l == "\r\n" {
			break
		}
	}
	out := make(chan string, 4096)
	go func() {
		defer close(out)
		for {
			msg, err := readStreamMessage(kind, br)
			if err != nil {
				return
			}
			out <- msg
		}
	}()
	return out
}

// readStreamMessage reads one SSE event or one WebSocket frame.
func readStreamMessage(kind string, br *bufio.Reader) (string, error) {
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

// nextMessage waits for the stream's next message; ended is true when it
// ended first.
func nextMessage(t *testing.T, ch <-chan string, within time.Duration) (string, bool) {
	t.Helper()
	select {
	case m, ok := <-ch:
		return m, !ok
	case <-time.After(within):
		t.Fatalf("no message and no end of the stream within %s", within)
		return "", false
	}
}

package nginx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// markerServer answers the marker location with answers[i] for the i-th
// request (the last one from then on) and records the Host headers.
type markerServer struct {
	mu      sync.Mutex
	answers []string
	asked   int
	hosts   []string
}

func (m *markerServer) start(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if r.URL.Path != MarkerPath {
			http.NotFound(w, r)
			return
		}
		a := m.answers[min(m.asked, len(m.answers)-1)]
		m.asked++
		m.hosts = append(m.hosts, r.Host)
		if code, body, ok := strings.Cut(a, " "); ok && (code == "403" || code == "502") {
			w.WriteHeader(map[string]int{"403": 403, "502": 502}[code])
			_, _ = w.Write([]byte(body))
			return
		}
		_, _ = w.Write([]byte(a + "\n"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestConfirmMarkerNeedsAgreeInARow: the marker is confirmed by agree
// equal answers in a row, and no more are asked; another answer in between
// starts the count again.
func TestConfirmMarkerNeedsAgreeInARow(t *testing.T) {
	t.Parallel()
	want := Marker{Color: color.Green, DeployID: "run-43"}
	old := Marker{Color: color.Blue, DeployID: "run-42"}.Answer()
	ms := &markerServer{answers: []string{want.Answer(), want.Answer(), old, want.Answer()}}
	srv := ms.start(t)
	require.NoError(t, ConfirmMarker(context.Background(), FrontDoor{URL: srv.URL + "/", Host: "app.example"}, want, 3, time.Minute))
	assert.Equal(t, 6, ms.asked, "two agreeing, one other, then three agreeing")
	assert.Equal(t, "app.example", ms.hosts[0], "the front door's server name is asked")
}

// TestConfirmMarkerGivesUp: past the timeout, the error names the marker
// wanted, how often it was asked and the last answer; a canary's answer
// does not confirm the full switch it contains.
func TestConfirmMarkerGivesUp(t *testing.T) {
	t.Parallel()
	want := Marker{Color: color.Blue, DeployID: "run-42"}
	canary := Marker{Color: color.Blue, DeployID: "run-42", Canary: color.Green, Percent: 10, Next: "run-43"}
	ms := &markerServer{answers: []string{canary.Answer()}}
	srv := ms.start(t)
	err := ConfirmMarker(context.Background(), FrontDoor{URL: srv.URL}, want, 1, 0)
	require.ErrorIs(t, err, ErrMarkerNotConfirmed)
	assert.Contains(t, err.Error(), `did not answer "color=blue deploy=run-42" 1 times in a row`)
	assert.Contains(t, err.Error(), "(1 asked; last answer: "+canary.Answer()+")")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = ConfirmMarker(ctx, FrontDoor{URL: srv.URL}, want, 1, time.Minute)
	require.ErrorIs(t, err, ErrMarkerNotConfirmed)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestAskMarkerOtherAnswers: an answer that is no marker is described by
// its status and at most 80 sanitized characters of its body.
func TestAskMarkerOtherAnswers(t *testing.T) {
	t.Parallel()
	at := strings.Repeat("x", 80)
	ms := &markerServer{answers: []string{"403 " + at, "403 " + at + "y", "502 \x1b[31mbad\x1b[0m gateway", "color=purple deploy=x"}}
	srv := ms.start(t)
	fd := FrontDoor{URL: srv.URL}
	for _, want := range []string{
		`HTTP 403 "` + at + `"`,
		`HTTP 403 "` + at + `…"`,
		`HTTP 502 "[31mbad [0m gateway"`,
		`HTTP 200 "color=purple deploy=x"`,
	} {
		_, other, ok := AskMarker(context.Background(), fd)
		assert.False(t, ok)
		assert.Equal(t, want, other)
	}
}

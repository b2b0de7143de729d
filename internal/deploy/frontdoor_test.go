package deploy_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// markerDoor is nginx's front door as the default include makes it: the
// include's marker answers at nginx.MarkerPath only (404 elsewhere), with
// the include the fake switch holds, and only for Host host when set; or,
// with a status other than 200, with that status alone. It counts the
// requests it answers with the marker.
func (h *harness) markerDoor(host string, status int) (url string, answered *atomic.Int32) {
	answered = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != nginx.MarkerPath || (host != "" && r.Host != host) {
			http.NotFound(w, r)
			return
		}
		if status != http.StatusOK {
			http.Error(w, http.StatusText(status), status)
			return
		}
		answered.Add(1)
		cur, _ := h.sw.Include()
		_, _ = w.Write(markerAnswer(cur))
	}))
	h.t.Cleanup(srv.Close)
	return srv.URL, answered
}

// TestFrontDoor: the switch is confirmed through nginx's front door:
// verify-url (its marker path when it names no path), or the front door
// found in nginx's config, asked with its server name. Not confirmed,
// verify-url fails the switch; a front door found in the config only
// warns, since it may be the wrong server.
func TestFrontDoor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// door sets up the front door; it returns the verify-url input
		// ("" for none) and the marker answers counter.
		door func(h *harness) (string, *atomic.Int32)

		wantErr  []string // the switch fails with these; none: it succeeds
		wantLog  string
		wantWarn string
	}{
		{
			name:    "verify-url without a path: its marker path",
			door:    func(h *harness) (string, *atomic.Int32) { return h.markerDoor("", 200) },
			wantLog: "answers from blue (3 answers in a row",
		},
		{
			name: "verify-url /: its marker path",
			door: func(h *harness) (string, *atomic.Int32) {
				u, n := h.markerDoor("", 200)
				return u + "/", n
			},
			wantLog: "answers from blue (3 answers in a row",
		},
		{
			name: "verify-url with a path: that path",
			door: func(h *harness) (string, *atomic.Int32) {
				u, n := h.markerDoor("", 200)
				return u + "/elsewhere", n
			},
			wantErr: []string{"/elsewhere did not answer with", "within 150ms", "last answer: HTTP 404"},
		},
		{
			name: "verify-url with a path that answers the marker: confirmed by three answers in a row there",
			door: func(h *harness) (string, *atomic.Int32) {
				n := &atomic.Int32{}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					n.Add(1)
					cur, _ := h.sw.Include()
					_, _ = w.Write(markerAnswer(cur))
				}))
				h.t.Cleanup(srv.Close)
				return srv.URL + "/status", n
			},
			wantLog: "/status answers from blue (3 answers in a row",
		},
		{
			name:    "verify-url behind a proxy the marker refuses: the hint says so",
			door:    func(h *harness) (string, *atomic.Int32) { return h.markerDoor("", 403) },
			wantErr: []string{"last answer: HTTP 403", "point verify-url at nginx itself"},
		},
		{
			name: "verify-url answering a maintenance page in front of the new deploy: never taken for the switch",
			door: func(h *harness) (string, *atomic.Int32) {
				n := &atomic.Int32{}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					n.Add(1)
					cur, _ := h.sw.Include()
					m, _, _ := nginx.ReadMarker(cur)
					// It carries the new deploy's id, but users get a 503.
					fmt.Fprintf(w, "color=%s deploy=%s mode=maintenance\n", m.Color, m.DeployID)
				}))
				h.t.Cleanup(srv.Close)
				return srv.URL, n
			},
			wantErr: []string{"did not answer \"color=blue deploy=", "mode=maintenance"},
		},
		{
			name: "found in nginx's config: asked with its server name",
			door: func(h *harness) (string, *atomic.Int32) {
				u, n := h.markerDoor("app.example", 200)
				h.sw.FrontDoor = &nginx.FrontDoor{URL: u, Host: "app.example"}
				return "", n
			},
			wantLog: "answers from blue (3 answers in a row",
		},
		{
			name: "found in nginx's config, not confirmed: a warning",
			door: func(h *harness) (string, *atomic.Int32) {
				u, n := h.markerDoor("app.example", 200)
				h.sw.FrontDoor = &nginx.FrontDoor{URL: u, Host: "other.example"}
				return "", n
			},
			wantWarn: "could not confirm the switch through the front door found in nginx's config",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			verify, answered := tt.door(h)
			if verify != "" {
				h.inputs["verify-url"] = verify
			}
			if len(tt.wantErr) == 0 && tt.wantWarn == "" {
				// FrontDoorTimeout unset: 5 s, so that three answers in a row
				// fit on a loaded machine; the failures and warnings, which
				// wait out the whole timeout, keep the harness's 150 ms.
				h.frontDoorTimeout = -1
			}
			res, err := h.run(context.Background(), nil)
			if len(tt.wantErr) > 0 {
				var pe *deploy.PhaseError
				require.ErrorAs(t, err, &pe)
				require.Equal(t, deploy.PhaseSwitch, pe.Kind)
				require.ErrorIs(t, err, deploy.ErrNotConfirmed)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				// Polls are 20 ms apart: at most 8 fit in 150 ms, and the marker check
				// asks once more past its deadline before it gives up.
				m := regexp.MustCompile(`\((\d+) (?:polls|asked);`).FindStringSubmatch(err.Error())
				require.NotNil(t, m, "the error counts the polls: %v", err)
				polls, _ := strconv.Atoi(m[1])
				assert.GreaterOrEqual(t, polls, 1)
				assert.LessOrEqual(t, polls, 9)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, color.Blue, res.Active)
			assert.Contains(t, h.log.String(), tt.wantLog)
			if tt.wantWarn != "" {
				assert.Contains(t, h.log.String(), "warning: "+tt.wantWarn)
				assert.Zero(t, answered.Load(), "the front door never answered for another server name")
			} else {
				assert.NotContains(t, h.log.String(), "warning:")
				assert.GreaterOrEqual(t, answered.Load(), int32(3), "the front door was asked")
			}
		})
	}
}

// markerAnswer is what the marker location of include answers: its marker
// fields on one line, or the include itself when it has no marker.
func markerAnswer(include []byte) []byte {
	m, found, err := nginx.ReadMarker(include)
	if err != nil || !found {
		return include
	}
	return []byte(m.Answer() + "\n")
}

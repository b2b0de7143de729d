//go:build e2e

package e2e

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// recordingRegistry is a registry that asks for a login and writes down
// every Authorization header it is sent: a third party whose image a
// compose file happens to use.
type recordingRegistry struct {
	addr  string
	mu    sync.Mutex
	auths []string
	hits  int
}

func startRecordingRegistry(t *testing.T) *recordingRegistry {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &recordingRegistry{addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.hits++
		if a := req.Header.Get("Authorization"); a != "" {
			r.auths = append(r.auths, a)
		}
		r.mu.Unlock()
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.Header().Set("WWW-Authenticate", `Basic realm="third-party"`)
		w.WriteHeader(http.StatusUnauthorized)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *recordingRegistry) seen() (hits int, auths []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits, append([]string(nil), r.auths...)
}

// TestCredentialsGoOnlyToTheirRegistry: registry-username and
// registry-password are for the registry input's registry. A compose file
// whose second service comes from another registry must not hand that
// registry the login (Docker sends X-Registry-Auth to whatever registry
// the pulled image names).
func TestCredentialsGoOnlyToTheirRegistry(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t)
	third := startRecordingRegistry(t)
	f := newFixture(t, map[string]string{"docker-compose.yml": `services:
  web:
    image: ${APP_IMAGE}
    ports: ["${BLUEGREEN_PORT}:8080"]
    environment: {VERSION: "${VERSION:-v1}", COLOR: "${BLUEGREEN_COLOR}"}
  worker:
    image: ` + third.addr + `/third/sidecar:1
`})
	ref := reg.push(t, f.image, "bluegreen-e2e/app:"+strings.ToLower(testenv.UniqueName("c")))
	r := f.deploy(map[string]string{
		"image":             ref,
		"pull":              "always",
		"registry":          reg.addr,
		"registry-username": reg.user,
		"registry-password": reg.password,
	}, "VERSION=v1", "GITHUB_ACTIONS=true")
	require.Equal(t, 1, r.code, "the third-party image does not exist, so the deploy fails:\n%s", r.out)
	require.Contains(t, r.out, third.addr+"/third/sidecar:1")
	hits, auths := third.seen()
	require.NotZero(t, hits, "the daemon asked the third-party registry for the image")
	require.Empty(t, auths, "the login for %s reached the third-party registry", reg.addr)
	require.Contains(t, reg.Log(), "auth.user.name="+reg.user, "the login still went to its own registry")
	require.Empty(t, f.all("green"))
	require.Empty(t, f.all("blue"))
}

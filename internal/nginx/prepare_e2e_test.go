//go:build e2e

package nginx

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/execx"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// TestRealPrepareCommit: Prepare tests the new include on a candidate
// copy of the config without touching the live include (bytes and
// modification time) or reloading nginx; Commit then writes, reloads and
// confirms without another nginx -t. A candidate nginx rejects fails
// Prepare with nginx's message naming the real path, and blue still serves.
func TestRealPrepareCommit(t *testing.T) {
	t.Parallel()
	s := startReal(t, 0)
	s.sw.CandidateDir = t.TempDir()
	ctx := context.Background()
	runs := countRuns(s.sw)
	st, err := os.Stat(s.nginx.IncludePath)
	require.NoError(t, err)
	before := s.workers(t)

	broken, err := ParseTemplate("set $service_url {{.URL}}\n") // no ';'
	require.NoError(t, err)
	_, err = s.sw.Prepare(ctx, s.render(t, broken, s.green.data))
	require.ErrorIs(t, err, ErrConfigTest)
	assert.Contains(t, err.Error(), "unexpected end of file")
	assert.Contains(t, err.Error(), "in "+s.nginx.IncludePath+":", "nginx's message must name the real include, not the candidate's copy")
	assert.NotContains(t, err.Error(), "bluegreen-candidate-")

	p, err := s.sw.Prepare(ctx, s.render(t, s.tmpl, s.green.data))
	require.NoError(t, err)
	assert.True(t, p.Validated, "no candidate was tested: %s", p.Why)
	assert.Equal(t, s.prev, s.include(t), "Prepare touched the live include")
	st2, err := os.Stat(s.nginx.IncludePath)
	require.NoError(t, err)
	assert.Equal(t, st.ModTime(), st2.ModTime())
	assert.ElementsMatch(t, before, s.workers(t), "Prepare reloaded nginx")
	assert.Equal(t, "blue", get(t, s.nginx.URL("/")))
	assertNoCandidates(t, s.sw.CandidateDir)

	*runs = nil
	r, err := s.sw.Commit(ctx, p)
	require.NoError(t, err)
	require.True(t, r.Observed)
	assert.Equal(t, [][]string{s.nginx.ReloadCmd()}, *runs, "Commit of a validated switch only reloads")
	require.NoError(t, ConfirmMarker(ctx, FrontDoor{URL: s.nginx.URL("")}, Marker{Color: color.Green, DeployID: "test-green"}, 3, 10*time.Second))
	assert.Equal(t, "green", get(t, s.nginx.URL("/")))
}

// TestRealCommitAfterIncludeChanged: an include written by someone else
// after Prepare makes Commit test the config again.
func TestRealCommitAfterIncludeChanged(t *testing.T) {
	t.Parallel()
	s := startReal(t, 0)
	ctx := context.Background()
	p, err := s.sw.Prepare(ctx, s.render(t, s.tmpl, s.green.data))
	require.NoError(t, err)
	require.True(t, p.Validated)
	require.NoError(t, os.WriteFile(s.nginx.IncludePath, append(s.prev, '\n'), 0o644))
	runs := countRuns(s.sw)
	_, err = s.sw.Commit(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, [][]string{s.nginx.TestCmd(), s.nginx.ReloadCmd()}, *runs)
}

// TestRealCandidateResolvesRelativePaths: a certificate named relative to
// nginx.conf's directory resolves in the candidate too, through the links
// of the files nginx -T does not print.
func TestRealCandidateResolvesRelativePaths(t *testing.T) {
	t.Parallel()
	prefix := t.TempDir()
	writeSelfSigned(t, filepath.Join(prefix, "tls"))
	tlsPort := testenv.FreePort(t)
	blue := newColorServer(t, color.Blue, 0)
	tmpl := MustParseTemplate(DefaultTemplate)
	n := testenv.StartNginx(t, testenv.NginxOptions{
		Prefix:  prefix,
		Include: string(mustRender(t, tmpl, blue.data)),
		HTTP: "    server { listen 127.0.0.1:" + strconv.Itoa(tlsPort) + " ssl; ssl_certificate tls/cert.pem; ssl_certificate_key tls/key.pem; }\n" +
			"    include http.d/*.conf;\n",
	})
	require.NoError(t, os.MkdirAll(filepath.Join(prefix, "http.d"), 0o755))
	sw := &Switcher{IncludePath: n.IncludePath, TestCmd: n.TestCmd(), ReloadCmd: n.ReloadCmd(), Logf: t.Logf, CandidateDir: t.TempDir()}
	p, err := sw.Prepare(context.Background(), mustRender(t, tmpl, newColorServer(t, color.Green, 0).data))
	require.NoError(t, err)
	assert.True(t, p.Validated, "no candidate was tested: %s", p.Why)
	assertNoCandidates(t, sw.CandidateDir)
}

// TestPrepareInContainerFallsBack: for nginx in a container (Owns set)
// Prepare says why it did not test, and Commit tests.
func TestPrepareInContainerFallsBack(t *testing.T) {
	t.Parallel()
	s := startReal(t, 0)
	s.sw.Owns = func(pid int) bool { return pid == s.nginx.PID() }
	p, err := s.sw.Prepare(context.Background(), s.render(t, s.tmpl, s.green.data))
	require.NoError(t, err)
	assert.False(t, p.Validated)
	assert.Contains(t, p.Why, "container")
	runs := countRuns(s.sw)
	_, err = s.sw.Commit(context.Background(), p)
	require.NoError(t, err)
	assert.Equal(t, [][]string{s.nginx.TestCmd(), s.nginx.ReloadCmd()}, *runs)
}

// countRuns records the commands sw runs from now on.
func countRuns(sw *Switcher) *[][]string {
	var runs [][]string
	real := sw.Run
	sw.Run = func(ctx context.Context, args []string) (execx.Result, error) {
		runs = append(runs, args)
		if real != nil {
			return real(ctx, args)
		}
		return execx.Run(ctx, args)
	}
	return &runs
}

func assertNoCandidates(t *testing.T, dir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, "bluegreen-candidate-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "candidate directories were left behind")
}

func writeSelfSigned(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
}

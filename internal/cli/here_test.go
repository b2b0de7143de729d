package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// workspace is a directory with a compose file that parses.
func workspace(t *testing.T) string {
	t.Helper()
	ws := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(ws, "docker-compose.yml"), []byte("services:\n  web:\n    image: app:1\n    ports: [\"${BLUEGREEN_PORT}:8080\"]\n"), 0o644))
	return ws
}

// lastLine is the last line out holds.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestFinishSaysWhatWasDone: after a run that succeeded, the last line
// says what the mode did, and the outputs come before it.
func TestFinishSaysWhatWasDone(t *testing.T) {
	t.Parallel()
	cases := []struct {
		mode config.Mode
		res  deploy.Result
		want string
	}{
		{config.ModeDeploy, deploy.Result{Active: color.Blue, ActiveURL: "http://127.0.0.1:8081", Elapsed: 1500 * time.Millisecond}, "deployed blue on http://127.0.0.1:8081 in 1.5s (first deploy)"},
		{config.ModeDeploy, deploy.Result{Previous: color.Blue, Active: color.Green, ActiveURL: "http://127.0.0.1:8082", Elapsed: 2 * time.Second}, "deployed green on http://127.0.0.1:8082 in 2s: blue → green"},
		{config.ModeRollback, deploy.Result{Previous: color.Green, Active: color.Blue, ActiveURL: "http://127.0.0.1:8081", Elapsed: time.Second}, "deployed blue on http://127.0.0.1:8081 in 1s: green → blue"},
		{config.ModeStatus, deploy.Result{Active: color.Green, Image: "app:v1", DeployID: "d1"}, "live color: green (image app:v1, deploy d1)"},
		{config.ModeStatus, deploy.Result{}, "live color: none"},
		{config.ModeStage, deploy.Result{Active: color.Blue, Staged: color.Green, PreviewURL: "http://127.0.0.1:8082", DeployID: "d1", Elapsed: time.Second}, "staged green on http://127.0.0.1:8082 in 1s (deploy d1); nginx still serves blue"},
		{config.ModeAbort, deploy.Result{}, "nothing staged any more; nginx still serves none"},
		{config.ModeHistory, deploy.Result{DeployID: "d1"}, "history="},
	}
	for _, tc := range cases {
		t.Run(string(tc.mode)+" "+tc.want, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			var got *deploy.Result
			d := testHere(&out, tc.mode)
			d.opts.OnResult = func(r *deploy.Result) { got = r }
			d.res = &tc.res
			require.NoError(t, d.finish(nil))
			require.Same(t, d.res, got, "OnResult gets the result")
			require.Equal(t, tc.want, lastLine(out.String()))
			require.Contains(t, out.String(), "active-color="+tc.res.Active.String()+"\n")
		})
	}
}

// TestFinishSaysTheFailureOnce: a failed run prints its failure once, last,
// under the phase that failed; only the deploy's own config.ErrInvalid
// makes it an invalid input.
func TestFinishSaysTheFailureOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		err   error
		title string
		code  int
	}{
		{"a phase", &deploy.PhaseError{Phase: "Health check", Err: errors.New("no answer"), Undone: "removed green"}, "error: Deploy failed: Health check: no answer", ExitFailed},
		{"no phase", errors.New("boom"), "error: Deploy failed: boom", ExitFailed},
		{"preflight", &deploy.PhaseError{Phase: "Preflight", Err: fmt.Errorf("%w: a port is taken", config.ErrInvalid)}, "error: Deploy failed: Preflight: invalid input", ExitInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			d := testHere(&out, config.ModeDeploy)
			d.res = &deploy.Result{}
			err := d.finish(tc.err)
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, tc.code, ExitCode(err))
			require.Contains(t, out.String(), tc.title)
			require.Equal(t, 1, strings.Count(out.String(), "error: "), out.String())
			require.NotContains(t, out.String(), "deployed")
		})
	}
}

func testHere(out *bytes.Buffer, mode config.Mode) *here {
	rep := report.New(out, func(string) string { return "" })
	return &here{session: &session{rep: rep, cfg: &config.Config{Mode: mode, ProjectName: "app"}, restore: func() {}}}
}

// TestNginxSetupThatTouchesNothingIsInvalid: an nginx container whose
// include the action cannot write the right way is the user's setup to
// change (exit 2); any other nginx failure is a failed deploy.
func TestNginxSetupThatTouchesNothingIsInvalid(t *testing.T) {
	t.Parallel()
	require.Equal(t, ExitInvalid, ExitCode(nginxFailure(fmt.Errorf("x: %w", nginx.ErrSingleFileMount))))
	require.Equal(t, ExitInvalid, ExitCode(nginxFailure(fmt.Errorf("x: %w", nginx.ErrIncludeNotMounted))))
	require.Equal(t, ExitFailed, ExitCode(nginxFailure(errors.New("no such container"))))
}

// TestDeployWithInvalidInputs: bad inputs stop the deploy before Docker
// is asked anything (DOCKER_HOST points nowhere), with exit 2, and one run
// lists every problem.
func TestDeployWithInvalidInputs(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	var out bytes.Buffer
	code := Main(context.Background(), Options{
		Environ: []string{"GITHUB_WORKSPACE=" + ws, "INPUT_BLUE-PORT=abc", "INPUT_HEALTH-INTERVAL=soon", "DOCKER_HOST=unix:///nonexistent"},
		Cwd:     ws,
		Stdout:  &out,
	})
	require.Equal(t, ExitInvalid, code, out.String())
	require.Contains(t, out.String(), "error: Invalid inputs: 2 invalid input(s); nothing was changed")
	require.Contains(t, out.String(), `blue-port "abc"`)
	require.Contains(t, out.String(), "health-interval")
	require.NotContains(t, out.String(), "Docker daemon")
}

// TestHistoryNeedsNeitherDockerNorNginx: mode history reads the file on
// this host and sets the history output, with Docker unreachable.
func TestHistoryNeedsNeitherDockerNorNginx(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	var out bytes.Buffer
	var res *deploy.Result
	code := Main(context.Background(), Options{
		Environ:  []string{"GITHUB_WORKSPACE=" + ws, "INPUT_MODE=history", "INPUT_PROJECT-NAME=app", "DOCKER_HOST=unix:///nonexistent"},
		Cwd:      ws,
		Stdout:   &out,
		StateDir: t.TempDir(),
		OnResult: func(r *deploy.Result) { res = r },
	})
	require.Equal(t, ExitOK, code, out.String())
	require.NotNil(t, res)
	require.Equal(t, config.ModeHistory, res.Mode)
	require.Contains(t, out.String(), "history=[]\n")
}

// TestFleetWithBadCredentialsIsInvalid: the fleet's coordinator checks its
// credentials before it reaches any host (exit 2).
func TestFleetWithBadCredentialsIsInvalid(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	var out bytes.Buffer
	code := Main(context.Background(), Options{
		Environ: []string{"GITHUB_WORKSPACE=" + ws, "INPUT_PROJECT-NAME=app", "INPUT_HOSTS=tcp://127.0.0.1:1", "INPUT_DOCKER-TLS-CA=x", "INPUT_DOCKER-TLS-CERT=y", "INPUT_DOCKER-TLS-KEY=z"},
		Cwd:     ws,
		Stdout:  &out,
	})
	require.Equal(t, ExitInvalid, code, out.String())
	require.Contains(t, out.String(), "error: Invalid inputs: invalid fleet credentials")
}

// TestFleetWithoutItsHelperBinary: a coordinator that cannot read the
// binary its helpers run fails (exit 1) before it reaches any host.
func TestFleetWithoutItsHelperBinary(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	cert, key := selfSigned(t)
	missing := filepath.Join(t.TempDir(), "bluegreen")
	var out bytes.Buffer
	code := Main(context.Background(), Options{
		Environ:      []string{"GITHUB_WORKSPACE=" + ws, "INPUT_PROJECT-NAME=app", "INPUT_HOSTS=tcp://127.0.0.1:1", "INPUT_DOCKER-TLS-CA=" + cert, "INPUT_DOCKER-TLS-CERT=" + cert, "INPUT_DOCKER-TLS-KEY=" + key},
		Cwd:          ws,
		Stdout:       &out,
		HelperBinary: missing,
	})
	require.Equal(t, ExitFailed, code, out.String())
	require.Contains(t, out.String(), "error: Fleet: failed to read the running binary "+missing)
	require.NotContains(t, out.String(), "127.0.0.1:1", "no host was reached")
}

// selfSigned returns a self-signed certificate and its key in PEM.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bluegreen test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// TestFleetWithInvalidInputs: a fleet's inputs are checked like a
// deploy's, all problems at once (exit 2).
func TestFleetWithInvalidInputs(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	var out bytes.Buffer
	code := Main(context.Background(), Options{
		Environ: []string{"GITHUB_WORKSPACE=" + ws, "INPUT_HOSTS=ssh://deploy@10.0.1.11"},
		Cwd:     ws,
		Stdout:  &out,
	})
	require.Equal(t, ExitInvalid, code, out.String())
	require.Contains(t, out.String(), "ssh-private-key is empty")
	require.Contains(t, out.String(), "ssh-known-hosts is empty")
}

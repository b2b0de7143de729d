package fleet

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// fakeDaemon answers the few Docker API calls Connect makes, on a Unix
// socket, as a daemon whose id is id.
func fakeDaemon(t *testing.T, id string) (socket string, calls func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("API-Version", "1.41")
		w.Header().Set("Content-Type", "application/json")
		path := r.URL.Path
		if i := strings.Index(path[1:], "/"); strings.HasPrefix(path, "/v1.") && i > 0 {
			path = path[i+1:]
		}
		switch {
		case path == "/_ping":
			_, _ = io.WriteString(w, "OK")
		case path == "/info":
			_, _ = io.WriteString(w, `{"ID":"`+id+`","Name":"host"}`)
		case strings.HasPrefix(path, "/images/") && strings.HasSuffix(path, "/json"):
			_, _ = io.WriteString(w, `{"Id":"sha256:1234"}`)
		default:
			http.NotFound(w, r)
		}
	})
	socket = filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", socket)
	require.NoError(t, err)
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return socket, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// sshServer is an SSH server that lets one key in and forwards
// direct-streamlocal channels to socket, whatever path they ask for.
type sshServer struct {
	addr    string
	hostKey ssh.Signer
	mu      sync.Mutex
	paths   []string
}

func startSSHServer(t *testing.T, authorized ssh.PublicKey, socket string) *sshServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	hostKey, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(k.Marshal(), authorized.Marshal()) {
			return nil, nil
		}
		return nil, io.EOF
	}}
	cfg.AddHostKey(hostKey)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	s := &sshServer{addr: l.Addr().String(), hostKey: hostKey}
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(nc, cfg, socket)
		}
	}()
	return s
}

func (s *sshServer) serve(nc net.Conn, cfg *ssh.ServerConfig, socket string) {
	_, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		nc.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		if nch.ChannelType() != "direct-streamlocal@openssh.com" {
			_ = nch.Reject(ssh.UnknownChannelType, "no")
			continue
		}
		var req struct {
			Path      string
			Reserved0 string
			Reserved1 uint32
		}
		if err := ssh.Unmarshal(nch.ExtraData(), &req); err != nil {
			_ = nch.Reject(ssh.Prohibited, "bad request")
			continue
		}
		s.mu.Lock()
		s.paths = append(s.paths, req.Path)
		s.mu.Unlock()
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go ssh.DiscardRequests(creqs)
		go func() {
			defer ch.Close()
			uc, err := net.Dial("unix", socket)
			if err != nil {
				return
			}
			defer uc.Close()
			go func() { _, _ = io.Copy(uc, ch); _ = uc.(*net.UnixConn).CloseWrite() }()
			_, _ = io.Copy(ch, uc)
		}()
	}
}

func (s *sshServer) knownHostsLine(t *testing.T) string {
	host, port, _ := net.SplitHostPort(s.addr)
	p, _ := strconv.Atoi(port)
	return "[" + host + "]:" + strconv.Itoa(p) + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.hostKey.PublicKey())))
}

func clientKey(t *testing.T) (pemText string, pub ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(block)), signer.PublicKey()
}

func endpoint(t *testing.T, raw string) config.Endpoint {
	t.Helper()
	e, problem := config.ParseEndpoint(raw)
	require.Empty(t, problem)
	return e
}

// TestConnectOverSSH: the Docker API is reached through the SSH
// connection's direct-streamlocal channel to the daemon's socket, with the
// host key checked against ssh-known-hosts.
func TestConnectOverSSH(t *testing.T) {
	t.Parallel()
	socket, calls := fakeDaemon(t, "daemon-a")
	keyPEM, pub := clientKey(t)
	srv := startSSHServer(t, pub, socket)
	e := endpoint(t, "ssh://deploy@"+srv.addr)
	creds, err := NewCredentials(config.Fleet{Hosts: []config.Endpoint{e}, SSHKey: keyPEM, KnownHosts: srv.knownHostsLine(t)})
	require.NoError(t, err)
	img := &HelperImage{Tag: HelperRepo + ":test", Exe: "/bluegreen"}
	var log bytes.Buffer
	d := &Docker{Creds: creds, Image: img, Report: report.New(&log, func(string) string { return "" })}
	defer d.Close()
	id, err := d.Connect(context.Background(), Host{Name: e.String(), Endpoint: e})
	require.NoError(t, err)
	require.Equal(t, "daemon-a/host", id)
	require.Contains(t, calls(), "GET /v1.41/info")
	srv.mu.Lock()
	require.Contains(t, srv.paths, RemoteSocket)
	srv.mu.Unlock()
	require.NotContains(t, log.String(), "PRIVATE KEY")
}

func TestSSHHostKeyIsVerified(t *testing.T) {
	t.Parallel()
	socket, _ := fakeDaemon(t, "daemon-a")
	keyPEM, pub := clientKey(t)
	srv := startSSHServer(t, pub, socket)
	other := startSSHServer(t, pub, socket) // another host key
	e := endpoint(t, "ssh://deploy@"+srv.addr)

	t.Run("a different key is refused", func(t *testing.T) {
		t.Parallel()
		// srv's address with other's key.
		line := srv.knownHostsLine(t)
		line = line[:strings.Index(line, " ")] + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.hostKey.PublicKey())))
		creds, err := NewCredentials(config.Fleet{Hosts: []config.Endpoint{e}, SSHKey: keyPEM, KnownHosts: line})
		require.NoError(t, err)
		_, err = creds.dial(context.Background(), e)
		require.ErrorContains(t, err, "is not the one ssh-known-hosts gives for it")
	})
	t.Run("a host missing from known_hosts is an input problem", func(t *testing.T) {
		t.Parallel()
		_, err := NewCredentials(config.Fleet{Hosts: []config.Endpoint{e}, SSHKey: keyPEM, KnownHosts: other.knownHostsLine(t)})
		require.ErrorIs(t, err, ErrInvalidCredentials)
		require.ErrorContains(t, err, "ssh-known-hosts has no key for")
		require.ErrorContains(t, err, "ssh-keyscan -p ")
	})
	t.Run("a key that is not a key", func(t *testing.T) {
		t.Parallel()
		_, err := NewCredentials(config.Fleet{Hosts: []config.Endpoint{e}, SSHKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LW1hdGVyaWFs\n-----END OPENSSH PRIVATE KEY-----", KnownHosts: srv.knownHostsLine(t)})
		require.ErrorIs(t, err, ErrInvalidCredentials)
		require.ErrorContains(t, err, "ssh-private-key cannot be read")
		require.NotContains(t, err.Error(), "c2VjcmV0LW1hdGVyaWFs", "no part of the key is quoted")
	})
	t.Run("a wrong client key is refused by the host", func(t *testing.T) {
		t.Parallel()
		wrongPEM, _ := clientKey(t)
		creds, err := NewCredentials(config.Fleet{Hosts: []config.Endpoint{e}, SSHKey: wrongPEM, KnownHosts: srv.knownHostsLine(t)})
		require.NoError(t, err)
		_, err = creds.dial(context.Background(), e)
		require.ErrorContains(t, err, "failed to open an SSH connection")
		require.NotContains(t, err.Error(), "PRIVATE KEY")
	})
}

// pki is a CA with a server and a client certificate.
type pki struct {
	caPEM, serverCert, serverKey, clientCert, clientKey []byte
}

func newPKI(t *testing.T) pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	leaf := func(n int64, server bool) ([]byte, []byte) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		require.NoError(t, err)
		kd, err := x509.MarshalECPrivateKey(k)
		require.NoError(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	}
	p := pki{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	p.serverCert, p.serverKey = leaf(2, true)
	p.clientCert, p.clientKey = leaf(3, false)
	return p
}

// TestConnectOverTLS: a tcp:// host is reached with the client
// certificate, and its certificate is checked against docker-tls-ca.
func TestConnectOverTLS(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	socket, _ := fakeDaemon(t, "daemon-t")
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return net.Dial("unix", socket) }}
		req, _ := http.NewRequest(r.Method, "http://docker"+r.URL.RequestURI(), r.Body)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	serverCert, err := tls.X509KeyPair(p.serverCert, p.serverKey)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.caPEM)
	proxy.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	proxy.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	proxy.StartTLS()
	defer proxy.Close()
	e := endpoint(t, "tcp://"+strings.TrimPrefix(proxy.URL, "https://"))

	creds, err := NewCredentials(config.Fleet{Hosts: []config.Endpoint{e}, TLS: config.TLS{CA: string(p.caPEM), Cert: string(p.clientCert), Key: string(p.clientKey)}})
	require.NoError(t, err)
	d := &Docker{Creds: creds, Image: &HelperImage{Tag: HelperRepo + ":test", Exe: "/bluegreen"}, Report: quiet()}
	defer d.Close()
	id, err := d.Connect(context.Background(), Host{Name: e.String(), Endpoint: e})
	require.NoError(t, err)
	require.Equal(t, "daemon-t/host", id)

	other := newPKI(t)
	creds, err = NewCredentials(config.Fleet{Hosts: []config.Endpoint{e}, TLS: config.TLS{CA: string(other.caPEM), Cert: string(p.clientCert), Key: string(p.clientKey)}})
	require.NoError(t, err)
	d = &Docker{Creds: creds, Image: &HelperImage{Tag: HelperRepo + ":test", Exe: "/bluegreen"}, Report: quiet()}
	_, err = d.Connect(context.Background(), Host{Name: e.String(), Endpoint: e})
	require.ErrorContains(t, err, "certificate signed by unknown authority")

	_, err = NewCredentials(config.Fleet{Hosts: []config.Endpoint{e}, TLS: config.TLS{CA: "nope", Cert: string(p.clientCert), Key: string(p.clientKey)}})
	require.ErrorIs(t, err, ErrInvalidCredentials)
}

// TestHostKeyAlgorithms: the algorithms offered are those of the keys
// known_hosts has for the host, on the default port and another.
func TestHostKeyAlgorithms(t *testing.T) {
	t.Parallel()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	cb, err := parseKnownHosts("10.0.1.11 " + key + "\n[10.0.1.12]:2222 " + key)
	require.NoError(t, err)
	for _, raw := range []string{"ssh://deploy@10.0.1.11", "ssh://deploy@10.0.1.12:2222"} {
		algos, err := hostKeyAlgorithms(cb, endpoint(t, raw))
		require.NoError(t, err, raw)
		require.Equal(t, []string{ssh.KeyAlgoED25519}, algos)
	}
	_, err = hostKeyAlgorithms(cb, endpoint(t, "ssh://deploy@10.0.1.12"))
	require.ErrorIs(t, err, ErrInvalidCredentials, "port 22 of that host is not known")
}

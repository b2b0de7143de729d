package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/client"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/bluegreen-action/bluegreen/internal/config"
)

// RemoteSocket is the Docker socket an ssh:// host's daemon listens on,
// reached through the SSH connection (a direct-streamlocal channel, as
// `ssh -L` to a Unix socket): the user must be allowed to use it (the
// docker group), and sshd must allow stream-local forwarding (OpenSSH's
// default; DisableForwarding or AllowStreamLocalForwarding no forbid it).
const RemoteSocket = "/var/run/docker.sock"

// dialTimeout bounds reaching a host (TCP connect, SSH or TLS handshake).
const dialTimeout = 15 * time.Second

// keepAlive is how often an SSH connection is probed, so that a host that
// went away is noticed during a long deploy.
const keepAlive = 15 * time.Second

// Credentials are what the runner reaches the hosts with, read once from
// the inputs. They never leave the runner: not in a log, an argv, a file
// that outlives the parse, or a host's handover.
type Credentials struct {
	sshSigner  ssh.Signer
	knownHosts ssh.HostKeyCallback
	tls        *tls.Config
}

// ErrInvalidCredentials marks a key, known_hosts or certificate input that
// cannot be read: an input problem (exit 2), found before any host is
// dialled.
var ErrInvalidCredentials = errors.New("invalid fleet credentials")

// NewCredentials reads the fleet's key and certificate inputs. Only what
// the hosts need is read: SSH inputs for ssh:// hosts, TLS inputs for
// tcp:// hosts.
func NewCredentials(f config.Fleet) (*Credentials, error) {
	var c Credentials
	var problems []string
	var needSSH, needTLS bool
	for _, e := range f.Hosts {
		needSSH = needSSH || e.Scheme == "ssh"
		needTLS = needTLS || e.Scheme == "tcp"
	}
	if needSSH {
		signer, err := ssh.ParsePrivateKey([]byte(f.SSHKey + "\n"))
		var missing *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			problems = append(problems, "ssh-private-key is protected by a passphrase: give the deploy its own key without one, kept in a secret")
		case err != nil:
			// The parser's message holds no part of the key.
			problems = append(problems, fmt.Sprintf("ssh-private-key cannot be read as a private key (%v): give the whole PEM text, -----BEGIN … PRIVATE KEY----- to -----END … PRIVATE KEY-----", err))
		default:
			c.sshSigner = signer
		}
		cb, err := parseKnownHosts(f.KnownHosts)
		if err != nil {
			problems = append(problems, fmt.Sprintf("ssh-known-hosts cannot be read: %v; give lines of a known_hosts file, as ssh-keyscan prints them", err))
		} else {
			for _, e := range f.Hosts {
				if e.Scheme != "ssh" {
					continue
				}
				if _, err := hostKeyAlgorithms(cb, e); err != nil {
					problems = append(problems, strings.TrimPrefix(err.Error(), ErrInvalidCredentials.Error()+": "))
				}
			}
		}
		c.knownHosts = cb
	}
	if needTLS {
		cfg, err := tlsConfig(f.TLS)
		if err != nil {
			problems = append(problems, err.Error())
		}
		c.tls = cfg
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidCredentials, strings.Join(problems, "; "))
	}
	return &c, nil
}

// parseKnownHosts reads known_hosts text. The knownhosts package reads
// files only, so the text goes through a private temp file that is
// removed at once.
func parseKnownHosts(text string) (ssh.HostKeyCallback, error) {
	f, err := os.CreateTemp("", "bluegreen-known-hosts-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(text + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return knownhosts.New(f.Name())
}

func tlsConfig(t config.TLS) (*tls.Config, error) {
	cert, err := tls.X509KeyPair([]byte(t.Cert), []byte(t.Key))
	if err != nil {
		// crypto/tls names what is wrong without quoting the key.
		return nil, fmt.Errorf("docker-tls-cert and docker-tls-key are not a certificate and its key in PEM: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(t.CA)) {
		return nil, errors.New("docker-tls-ca holds no PEM certificate: give the CA certificate the daemons' certificates are signed with")
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// conn is a connection to one host's Docker daemon.
type conn struct {
	docker *client.Client
	ssh    *ssh.Client
	stop   chan struct{}
}

func (c *conn) Close() {
	if c.stop != nil {
		close(c.stop)
	}
	if c.docker != nil {
		_ = c.docker.Close()
	}
	if c.ssh != nil {
		_ = c.ssh.Close()
	}
}

// dial reaches e's Docker daemon: over SSH to the daemon's socket, or to
// its TLS port.
func (c *Credentials) dial(ctx context.Context, e config.Endpoint) (*conn, error) {
	switch e.Scheme {
	case "ssh":
		return c.dialSSH(ctx, e)
	case "tcp":
		return c.dialTLS(e)
	}
	return nil, fmt.Errorf("unknown endpoint scheme %q", e.Scheme)
}

func (c *Credentials) dialTLS(e config.Endpoint) (*conn, error) {
	if c.tls == nil {
		return nil, errors.New("no TLS credentials")
	}
	cfg := c.tls.Clone()
	cfg.ServerName = e.Host
	tr := &http.Transport{
		TLSClientConfig:     cfg,
		DialContext:         (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: dialTimeout,
	}
	docker, err := client.NewClientWithOpts(
		client.WithHTTPClient(&http.Client{Transport: tr}),
		client.WithHost("tcp://"+e.Address()),
		client.WithScheme("https"),
		client.WithAPIVersionNegotiation(),
	)
	if err != nil {
		return nil, fmt.Errorf("failed to create a Docker client for %s: %w", e.Address(), err)
	}
	return &conn{docker: docker}, nil
}

func (c *Credentials) dialSSH(ctx context.Context, e config.Endpoint) (*conn, error) {
	if c.sshSigner == nil || c.knownHosts == nil {
		return nil, errors.New("no SSH credentials")
	}
	algos, err := hostKeyAlgorithms(c.knownHosts, e)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User:              e.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(c.sshSigner)},
		HostKeyCallback:   c.knownHosts,
		HostKeyAlgorithms: algos,
		Timeout:           dialTimeout,
	}
	d := net.Dialer{Timeout: dialTimeout}
	raw, err := d.DialContext(ctx, "tcp", e.Address())
	if err != nil {
		return nil, fmt.Errorf("failed to reach %s: %w", e.Address(), err)
	}
	_ = raw.SetDeadline(time.Now().Add(dialTimeout))
	sc, chans, reqs, err := ssh.NewClientConn(raw, e.Address(), cfg)
	if err != nil {
		raw.Close()
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			return nil, fmt.Errorf("the SSH host key of %s is not the one ssh-known-hosts gives for it: refusing to connect (if the host was rebuilt, check its new key and update ssh-known-hosts)", e.Address())
		}
		return nil, fmt.Errorf("failed to open an SSH connection to %s as %s: %w", e.Address(), e.User, err)
	}
	_ = raw.SetDeadline(time.Time{})
	sshc := ssh.NewClient(sc, chans, reqs)
	cn := &conn{ssh: sshc, stop: make(chan struct{})}
	go cn.keepAlive()
	docker, err := client.NewClientWithOpts(
		client.WithHost("unix://"+RemoteSocket),
		client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
			return sshc.Dial("unix", RemoteSocket)
		}),
		client.WithAPIVersionNegotiation(),
	)
	if err != nil {
		cn.Close()
		return nil, fmt.Errorf("failed to create a Docker client through SSH to %s: %w", e.Address(), err)
	}
	cn.docker = docker
	return cn, nil
}

// keepAlive probes the SSH connection and closes it when the host stops
// answering, so that a pending Docker call fails instead of hanging.
func (c *conn) keepAlive() {
	t := time.NewTicker(keepAlive)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		done := make(chan error, 1)
		go func() {
			_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				_ = c.ssh.Close()
				return
			}
		case <-time.After(3 * keepAlive):
			_ = c.ssh.Close()
			return
		case <-c.stop:
			return
		}
	}
}

// hostKeyAlgorithms lists the host key algorithms known_hosts has keys of
// for e, so that the server offers a key that can be checked (by default
// it may offer, say, its ECDSA key when only its Ed25519 key is known,
// and the connection would fail as a mismatch). A host with no key in
// known_hosts is refused here, before any connection.
func hostKeyAlgorithms(cb ssh.HostKeyCallback, e config.Endpoint) ([]string, error) {
	addr := e.Address()
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		tcp = &net.TCPAddr{}
	}
	err = cb(addr, tcp, probeKey{})
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) == 0 {
		port := ""
		if e.Port != config.DefaultSSHPort {
			port = fmt.Sprintf("-p %d ", e.Port)
		}
		return nil, fmt.Errorf("%w: ssh-known-hosts has no key for %s; add its line (ssh-keyscan %s%s prints it; check it once by hand)", ErrInvalidCredentials, knownhosts.Normalize(addr), port, e.Host)
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algos = append(algos, a)
		}
	}
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512)
			add(ssh.KeyAlgoRSASHA256)
			add(t)
		default:
			add(t)
		}
	}
	return algos, nil
}

// probeKey is a host key no host has: checking it against known_hosts
// lists the keys known for the host.
type probeKey struct{}

func (probeKey) Type() string                        { return "bluegreen-probe" }
func (probeKey) Marshal() []byte                     { return []byte("bluegreen-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }

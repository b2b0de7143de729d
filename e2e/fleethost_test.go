//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// A simulated host is what a fleet deploys to, made on this machine: its
// own network namespace (a veth pair, 10.250.N.2 inside, 10.250.N.1 on
// this side), and inside it a mount and PID namespace (unshare --mount
// --pid --fork --kill-child --mount-proc) holding its own /run (tmpfs),
// its own /etc/nginx, /etc/docker and /var/lib/bluegreen (bind mounts), its own dockerd
// (own data root on disk, exec root, socket, pidfile; TLS on
// 10.250.N.2:2376), its own nginx on :80 and its own sshd on :22. A
// helper's -v /:/host then sees that host's mounts, and --pid host its
// processes, as on a real machine.
//
// Facts this rests on, checked here: the network namespace is entered
// with nsenter --net (ip netns exec remounts /sys, and dockerd then fails
// with "Devices cgroup isn't mounted"); killing the unshare process
// (SIGKILL: it ignores SIGTERM, leaving it to its child) ends every
// process inside through --kill-child; the inner dockerd gets its own
// --config-file, since this machine's /etc/docker/daemon.json names a
// data root and storage driver of its own, and the vfs driver (the
// machine's daemon runs fuse-overlayfs). No dockerd is ever started in
// this machine's own network namespace: with --bridge=none it would
// delete the main daemon's docker0.
type simHost struct {
	t      testing.TB
	name   string // network namespace
	index  int    // N in 10.250.N.0/24
	base   string // its files on this machine
	ip     string // 10.250.N.2
	veth   string // this side of the veth pair
	cmd    *exec.Cmd
	done   chan struct{}
	docker *client.Client // over TLS
	pki    *simPKI
	// sshHostKey is the line of its sshd's key for known_hosts.
	knownHosts string
}

// simFleet is the hosts of one test and what reaches them.
type simFleet struct {
	hosts     []*simHost
	pki       *simPKI
	sshKeyPEM string
}

// requireNamespaces skips (fails in CI) where namespaces, veth pairs and
// the daemons cannot be made.
func requireNamespaces(t testing.TB) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, bin := range []string{"ip", "nsenter", "unshare", "dockerd", "nginx", "/usr/sbin/sshd", "mount"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) == 0 {
		name := fmt.Sprintf("bgprobe%d", os.Getpid()%100000)
		if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
			missing = append(missing, fmt.Sprintf("ip netns add (%v: %s)", err, strings.TrimSpace(string(out))))
		} else {
			_ = exec.Command("ip", "netns", "del", name).Run()
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("the fleet test makes network, mount and PID namespaces with their own dockerd, nginx and sshd; missing here: %s (Debian: apt-get install iproute2 util-linux docker.io nginx-light openssh-server, and run as root)", strings.Join(missing, ", "))
	if testenv.InCI() {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg)
}

var (
	subnetMu   sync.Mutex
	subnetUsed = map[int]bool{}
)

// freeSubnet picks N for 10.250.N.0/24 that no interface or route of this
// machine uses and no other simulated host of this process has.
func freeSubnet(t testing.TB) int {
	t.Helper()
	subnetMu.Lock()
	defer subnetMu.Unlock()
	routes, err := exec.Command("ip", "-4", "route", "show", "table", "all").CombinedOutput()
	require.NoError(t, err, string(routes))
	addrs, err := exec.Command("ip", "-4", "-o", "addr").CombinedOutput()
	require.NoError(t, err, string(addrs))
	all := string(routes) + string(addrs)
	for n := 10 + os.Getpid()%100; n < 250; n++ {
		if subnetUsed[n] || strings.Contains(all, fmt.Sprintf("10.250.%d.", n)) {
			continue
		}
		subnetUsed[n] = true
		return n
	}
	t.Fatal("no free 10.250.N.0/24 subnet")
	return 0
}

// startFleet starts n simulated hosts at once.
func startFleet(t testing.TB, n int) *simFleet {
	t.Helper()
	requireNamespaces(t)
	// The mount point of each host's own /var/lib/bluegreen.
	require.NoError(t, os.MkdirAll("/var/lib/bluegreen", 0o700))
	f := &simFleet{pki: newSimPKI(t)}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	f.sshKeyPEM = string(pem.EncodeToMemory(block))
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	authorized := ssh.MarshalAuthorizedKey(signer.PublicKey())

	hosts := make([]*simHost, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		idx := freeSubnet(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			hosts[i], errs[i] = startSimHost(t, idx, f.pki, authorized)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	f.hosts = hosts
	return f
}

// startSimHost makes one host and waits until its dockerd, nginx and sshd
// answer. Its t.Cleanup undoes everything.
func startSimHost(t testing.TB, idx int, p *simPKI, authorized []byte) (*simHost, error) {
	h := &simHost{
		t:     t,
		name:  fmt.Sprintf("bgfleet%d-%d", os.Getpid()%100000, idx),
		index: idx,
		base:  t.TempDir(),
		ip:    fmt.Sprintf("10.250.%d.2", idx),
		veth:  fmt.Sprintf("bgf%da", idx),
		done:  make(chan struct{}),
		pki:   p,
	}
	t.Cleanup(h.stop)
	run := func(args ...string) error {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	nsPath := "/var/run/netns/" + h.name
	peer := fmt.Sprintf("bgf%db", idx)
	for _, args := range [][]string{
		{"ip", "netns", "add", h.name},
		{"ip", "link", "add", h.veth, "type", "veth", "peer", "name", peer},
		{"ip", "link", "set", peer, "netns", h.name},
		{"ip", "addr", "add", fmt.Sprintf("10.250.%d.1/24", idx), "dev", h.veth},
		{"ip", "link", "set", h.veth, "up"},
		{"nsenter", "--net=" + nsPath, "ip", "addr", "add", h.ip + "/24", "dev", peer},
		{"nsenter", "--net=" + nsPath, "ip", "link", "set", peer, "up"},
		{"nsenter", "--net=" + nsPath, "ip", "link", "set", "lo", "up"},
	} {
		if err := run(args...); err != nil {
			return nil, err
		}
	}

	// Its files: /etc/nginx, /var/lib/bluegreen, TLS and SSH material.
	dirs := map[string]os.FileMode{"etc-nginx/conf.d": 0o755, "var-lib-bluegreen": 0o700, "etc-docker": 0o700, "docker": 0o711, "tls": 0o700, "ssh": 0o700}
	for d, mode := range dirs {
		if err := os.MkdirAll(filepath.Join(h.base, d), mode); err != nil {
			return nil, err
		}
		if err := os.Chmod(filepath.Join(h.base, d), mode); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		"etc-nginx/nginx.conf":             simNginxConf,
		"etc-nginx/conf.d/service-url.inc": "set $service_url http://127.0.0.1:1;\n",
		"daemon.json":                      "{}\n",
		"tls/ca.pem":                       string(p.caPEM),
		"ssh/authorized_keys":              string(authorized),
		"ssh/sshd_config":                  fmt.Sprintf(simSSHDConfig, h.ip, h.base, h.base),
		"dockerd.sh":                       fmt.Sprintf(simDockerd, h.base, h.base, h.ip, h.base, h.base, h.base, idx, idx, h.base),
	}
	cert, key := p.server(t, h.ip)
	files["tls/cert.pem"], files["tls/key.pem"] = string(cert), string(key)
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hostBlock, err := ssh.MarshalPrivateKey(hostPriv, "")
	if err != nil {
		return nil, err
	}
	files["ssh/host_ed25519"] = string(pem.EncodeToMemory(hostBlock))
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	h.knownHosts = h.ip + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostSigner.PublicKey())))
	for name, content := range files {
		path := filepath.Join(h.base, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	_ = os.Chmod(filepath.Join(h.base, "etc-nginx/nginx.conf"), 0o644)
	_ = os.Chmod(filepath.Join(h.base, "etc-nginx/conf.d/service-url.inc"), 0o644)

	b := h.base
	script := fmt.Sprintf(simInit, b, b, b, b, b, b)
	logf, err := os.Create(filepath.Join(h.base, "init.log"))
	if err != nil {
		return nil, err
	}
	h.cmd = exec.Command("nsenter", "--net="+nsPath, "unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "/bin/sh", "-c", script)
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := h.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { _ = h.cmd.Wait(); logf.Close(); close(h.done) }()

	h.docker, err = client.NewClientWithOpts(
		client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: p.clientTLS(t)}}),
		client.WithHost("tcp://"+net.JoinHostPort(h.ip, "2376")),
		client.WithScheme("https"),
		client.WithAPIVersionNegotiation(),
	)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, perr := h.docker.Ping(ctx)
		cancel()
		if perr == nil && listening(h.ip+":22") && listening(h.ip+":80") {
			return h, nil
		}
		select {
		case <-h.done:
			return nil, fmt.Errorf("simulated host %s ended at start:\n%s", h.name, h.logs())
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("simulated host %s did not come up within 90s (docker: %v):\n%s", h.name, perr, h.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// logs returns the host's init, dockerd, nginx and sshd logs, tails.
func (h *simHost) logs() string {
	var b strings.Builder
	for _, f := range []string{"init.log", "dockerd.log", "sshd.log"} {
		data, _ := os.ReadFile(filepath.Join(h.base, f))
		s := string(data)
		if len(s) > 3000 {
			s = s[len(s)-3000:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", f, s)
	}
	return b.String()
}

// stop kills every process of the host, deletes its namespace and veth,
// and removes its cgroups; its files go with t.TempDir.
func (h *simHost) stop() {
	if h.docker != nil {
		_ = h.docker.Close()
	}
	if h.cmd != nil && h.cmd.Process != nil {
		// unshare ignores SIGTERM; SIGKILL makes it kill its child, the
		// namespace's init, which ends everything in the namespace.
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-h.done:
		case <-time.After(30 * time.Second):
			h.t.Errorf("simulated host %s did not end within 30s of SIGKILL", h.name)
		}
	}
	// Wait for the namespace's processes to be gone before the netns.
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("pgrep", "-f", h.base).Output()
		if strings.TrimSpace(string(out)) == "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = exec.Command("ip", "netns", "del", h.name).Run()
	_ = exec.Command("ip", "link", "del", h.veth).Run()
	for _, ctrl := range []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified"} {
		removeCgroup(filepath.Join("/sys/fs/cgroup", ctrl, fmt.Sprintf("bgfleet-%d", h.index)))
	}
}

// removeCgroup removes a cgroup directory and the empty ones below it.
func removeCgroup(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeCgroup(filepath.Join(dir, e.Name()))
		}
	}
	_ = syscall.Rmdir(dir)
}

// write puts a file into the host's /run (its tmpfs), through its init's
// view of the file system.
func (h *simHost) write(t testing.TB, path, content string) {
	t.Helper()
	full := filepath.Join("/proc", strconv.Itoa(h.initPID(t)), "root", path)
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
}

// initPID is the namespace's init, the unshare process's child.
func (h *simHost) initPID(t testing.TB) int {
	t.Helper()
	out, err := exec.Command("pgrep", "-P", strconv.Itoa(h.cmd.Process.Pid)).Output()
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.Fields(string(out))[0])
	require.NoError(t, err)
	return pid
}

// get fetches path from the host's own nginx on :80.
func (h *simHost) get(path string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + h.ip + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// loadImage copies an image of this machine's daemon into the host's.
func (h *simHost) loadImage(t testing.TB, ref string) {
	t.Helper()
	local := testenv.RequireDocker(t)
	rc, err := local.ImageSave(context.Background(), []string{ref})
	require.NoError(t, err)
	defer rc.Close()
	resp, err := h.docker.ImageLoad(context.Background(), rc)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_, err = h.docker.ImageInspect(context.Background(), ref)
	require.NoError(t, err, "the image %s is on host %s", ref, h.name)
}

// simInit is the host's init: its own /run, /etc/nginx and
// /var/lib/bluegreen, then dockerd, nginx and sshd, then it waits.
const simInit = `set -e
mount --make-rprivate /
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/sshd /run/nginx-tmp /run/bluegreen-test
mount --bind %s/etc-nginx /etc/nginx
mount --bind %s/var-lib-bluegreen /var/lib/bluegreen
mount --bind %s/etc-docker /etc/docker
sh %s/dockerd.sh
nginx
/usr/sbin/sshd -f %s/ssh/sshd_config -E %s/sshd.log
trap 'exit 0' TERM
while true; do sleep 3600 & wait $!; done
`

// simDockerd starts the host's dockerd in the background, logging to
// dockerd.log: at the host's start, and again after restartDockerd
// killed it.
const simDockerd = `dockerd --config-file %s/daemon.json --data-root %s/docker --exec-root /run/docker-exec \
  --pidfile /run/docker.pid -H unix:///var/run/docker.sock \
  -H tcp://%s:2376 --tlsverify --tlscacert %s/tls/ca.pem --tlscert %s/tls/cert.pem --tlskey %s/tls/key.pem \
  --storage-driver vfs --bip 172.31.%d.1/24 --cgroup-parent /bgfleet-%d >>%s/dockerd.log 2>&1 &
`

// restartDockerd kills the host's dockerd with SIGKILL, as a crash or an
// OOM kill does (its containerd goes with it; the containers' shims stay),
// keeps it down for down, then starts it again with the same settings,
// and returns once the new daemon answers. The helpers it ran die with
// it: without live-restore the new daemon kills what still runs, and
// starts again only containers with a restart policy.
func (h *simHost) restartDockerd(t testing.TB, down time.Duration) {
	t.Helper()
	in := func(args ...string) *exec.Cmd {
		return exec.Command("nsenter", append([]string{"-t", strconv.Itoa(h.initPID(t)), "-m", "-n", "-p", "--"}, args...)...)
	}
	out, err := in("sh", "-c", `pid=$(cat /run/docker.pid) && kill -9 $pid && i=0 && while kill -0 $pid 2>/dev/null; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done`).CombinedOutput()
	require.NoError(t, err, "killing the dockerd of %s: %s", h.name, out)
	time.Sleep(down)
	out, err = in("sh", filepath.Join(h.base, "dockerd.sh")).CombinedOutput()
	require.NoError(t, err, "starting the dockerd of %s again: %s", h.name, out)
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, perr := h.docker.Ping(ctx)
		cancel()
		if perr == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dockerd of %s did not answer within 90s of its restart (%v):\n%s", h.name, perr, h.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// simNginxConf is each host's nginx: the seed's server on :80, its
// include where the action's default puts it, temp files in its /run.
const simNginxConf = `user root;
worker_processes 2;
worker_shutdown_timeout 30s;
pid /run/nginx.pid;
error_log /run/nginx-error.log info;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path /run/nginx-tmp/body;
    proxy_temp_path /run/nginx-tmp/proxy;
    fastcgi_temp_path /run/nginx-tmp/fastcgi;
    uwsgi_temp_path /run/nginx-tmp/uwsgi;
    scgi_temp_path /run/nginx-tmp/scgi;
    server {
        listen 80;
        include /etc/nginx/conf.d/service-url.inc;
        location / {
            proxy_pass $service_url;
            proxy_set_header Host $host;
        }
    }
}
`

// simSSHDConfig lets the fleet's key in as root (the user of the host's
// Docker socket) and forwards Unix sockets, as OpenSSH does by default.
const simSSHDConfig = `Port 22
ListenAddress %s
HostKey %s/ssh/host_ed25519
AuthorizedKeysFile %s/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowStreamLocalForwarding yes
PidFile /run/sshd.pid
`

// simPKI is the fleet's CA, with a server certificate per host (its IP)
// and one client certificate.
type simPKI struct {
	caPEM      []byte
	ca         *x509.Certificate
	caKey      *ecdsa.PrivateKey
	clientCert []byte
	clientKey  []byte
	serial     int64
	mu         sync.Mutex
}

func newSimPKI(t testing.TB) *simPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bluegreen fleet test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	p := &simPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca: ca, caKey: caKey, serial: 1}
	p.clientCert, p.clientKey = p.leaf(t, "", x509.ExtKeyUsageClientAuth)
	return p
}

func (p *simPKI) server(t testing.TB, ip string) ([]byte, []byte) {
	return p.leaf(t, ip, x509.ExtKeyUsageServerAuth)
}

func (p *simPKI) leaf(t testing.TB, ip string, usage x509.ExtKeyUsage) ([]byte, []byte) {
	t.Helper()
	p.mu.Lock()
	p.serial++
	serial := p.serial
	p.mu.Unlock()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "bluegreen " + ip},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	if ip != "" {
		tmpl.IPAddresses = []net.IP{net.ParseIP(ip)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &k.PublicKey, p.caKey)
	require.NoError(t, err)
	kd, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func (p *simPKI) clientTLS(t testing.TB) *tls.Config {
	t.Helper()
	cert, err := tls.X509KeyPair(p.clientCert, p.clientKey)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.caPEM)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}
}

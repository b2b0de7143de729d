//go:build e2e

package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

package throwaway

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// NginxBinary finds nginx in PATH or /usr/sbin.
func NginxBinary() (string, error) {
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", errors.New("no nginx binary in PATH or /usr/sbin: install it (Debian: apt-get install nginx-light)")
}

// Nginx is a private nginx: its own prefix, config and port on 127.0.0.1.
type Nginx struct {
	Bin         string
	Prefix      string // holds conf, logs and the include
	Conf        string // path of nginx.conf
	IncludePath string // the include a deploy rewrites
	Port        int    // the front door on 127.0.0.1
	cmd         *exec.Cmd
	done        chan struct{}
}

// NginxOptions shapes the private nginx.
type NginxOptions struct {
	// Prefix is the directory to use (created if missing).
	Prefix string
	// Include is the include's initial content. Empty writes the seed's
	// include pointing at port 1, where nothing answers, so that nginx can
	// start before anything is deployed.
	Include string
	// HTTP is extra text for the http block.
	HTTP string
	// Server is the body of the server block after the listen line. Empty
	// gives the seed's: include the include, proxy_pass $service_url.
	Server string
	// Workers is worker_processes (default 2).
	Workers int
	// Port is the front door's port on 127.0.0.1 (default: FreePort).
	Port int
}

// SeedServer is the seed's server block body: the include in server
// context and proxy_pass to $service_url. %INCLUDE% is replaced.
const SeedServer = `
    include %INCLUDE%;
    location / {
        proxy_pass $service_url;
        proxy_set_header Host $http_host;
        proxy_set_header X-Real-IP $remote_addr;
    }
`

// URL returns the front door's URL for path.
func (n *Nginx) URL(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", n.Port, path) }

// TestCmd is the nginx -t command line for this instance.
func (n *Nginx) TestCmd() []string { return []string{n.Bin, "-p", n.Prefix, "-c", n.Conf, "-t"} }

// ReloadCmd is the nginx -s reload command line for this instance.
func (n *Nginx) ReloadCmd() []string {
	return []string{n.Bin, "-p", n.Prefix, "-c", n.Conf, "-s", "reload"}
}

// PID is the master's process id.
func (n *Nginx) PID() int { return n.cmd.Process.Pid }

// ErrorLog returns the error log so far.
func (n *Nginx) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.Prefix, "logs", "error.log"))
	return string(b)
}

// StartNginx starts a private nginx in the foreground of a child process.
// Close stops it.
func StartNginx(opts NginxOptions) (*Nginx, error) {
	bin, err := NginxBinary()
	if err != nil {
		return nil, err
	}
	prefix := opts.Prefix
	if prefix == "" {
		if prefix, err = os.MkdirTemp("", "bluegreen-nginx-"); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"logs", "conf.d", "tmp"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			return nil, err
		}
	}
	port := opts.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	n := &Nginx{
		Bin:         bin,
		Prefix:      prefix,
		Conf:        filepath.Join(prefix, "nginx.conf"),
		IncludePath: filepath.Join(prefix, "conf.d", "service-url.inc"),
		Port:        port,
		done:        make(chan struct{}),
	}
	include := opts.Include
	if include == "" {
		include = "set $service_url http://127.0.0.1:1;\n"
	}
	if err := os.WriteFile(n.IncludePath, []byte(include), 0o644); err != nil {
		return nil, err
	}
	server := opts.Server
	if server == "" {
		server = SeedServer
	}
	workers := opts.Workers
	if workers == 0 {
		workers = 2
	}
	conf := fmt.Sprintf(`daemon off;
master_process on;
user root;
worker_processes %d;
pid %s/nginx.pid;
error_log %s/logs/error.log info;
events { worker_connections 1024; }
http {
    access_log %s/logs/access.log;
    client_body_temp_path %s/tmp/body;
    proxy_temp_path %s/tmp/proxy;
%s
    server {
        listen 127.0.0.1:%d;
%s
    }
}
`, workers, prefix, prefix, prefix, prefix, prefix, opts.HTTP, n.Port, server)
	conf = strings.ReplaceAll(conf, "%INCLUDE%", n.IncludePath)
	if err := os.WriteFile(n.Conf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	n.cmd = exec.Command(bin, "-p", prefix, "-c", n.Conf)
	n.cmd.Stdout, n.cmd.Stderr = os.Stderr, os.Stderr
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start nginx: %w", err)
	}
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(n.Port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return n, nil
		}
		select {
		case <-n.done:
			return nil, fmt.Errorf("nginx exited at start: %s", n.ErrorLog())
		default:
		}
		if time.Now().After(deadline) {
			n.Close()
			return nil, fmt.Errorf("nginx did not listen on %d within 10s: %s", n.Port, n.ErrorLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops nginx gracefully, or kills it after 10 s.
func (n *Nginx) Close() {
	if n == nil || n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		<-n.done
	}
}

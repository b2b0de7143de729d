package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
)

// NginxContainerOptions shapes a test's nginx container.
type NginxContainerOptions struct {
	// Network is "host" (nginx shares the host's network and listens on
	// 127.0.0.1:Port) or the name of a user network (nginx listens on 80,
	// published on 127.0.0.1:Port). Empty means "host".
	Network string
	// Include is the include's initial content. Empty points the seed's
	// variable at port 1, where nothing answers.
	Include string
	// HTTP is extra text for the http block.
	HTTP string
	// Server is the server block's body after the listen line. Empty gives
	// the seed's (SeedServer).
	Server string
	// SingleFileInclude mounts the include alone instead of its directory,
	// the layout whose rename stays invisible inside the container.
	SingleFileInclude bool
	// Volume mounts a named volume (bgtest-conf-<random>, removed at the
	// end) at /etc/nginx/conf.d instead of a host directory.
	Volume bool
}

// NginxContainer is a running nginx container started by a test. Its
// nginx.conf is mounted as a single file (it is never rewritten) and its
// conf.d as a directory, the layout the docs recommend.
type NginxContainer struct {
	Name, ID string
	// Port is the front door on 127.0.0.1.
	Port int
	// ConfDir is the host directory mounted at /etc/nginx/conf.d: a temp
	// directory, or the volume's mountpoint.
	ConfDir string
	// IncludePath is the include as nginx sees it inside the container.
	IncludePath string
	// IncludeHostPath is the same file on the host.
	IncludeHostPath string
	docker          *client.Client
}

// URL returns the front door's URL for path.
func (n *NginxContainer) URL(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", n.Port, path)
}

// Exec runs args in the container and returns the exit code and output.
func (n *NginxContainer) Exec(t testing.TB, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"exec", n.Name}, args...)...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("failed to run docker exec %s %s: %v", n.Name, strings.Join(args, " "), err)
	}
	return 0, string(out)
}

// Logs returns what nginx wrote to the container's log.
func (n *NginxContainer) Logs() string {
	out, _ := exec.Command("docker", "logs", n.Name).CombinedOutput()
	return string(out)
}

// UniqueName returns prefix followed by a random suffix, for Docker objects
// a test creates: tests of several packages share one daemon.
func UniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// CreateNetwork creates a bridge network with a unique name starting with
// prefix and removes it when the test ends.
func CreateNetwork(t testing.TB, prefix string) string {
	t.Helper()
	cli := RequireDocker(t)
	name := UniqueName(prefix)
	ctx := context.Background()
	if _, err := cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge"}); err != nil {
		t.Fatalf("failed to create network %s: %v", name, err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), name) })
	return name
}

// StartNginxContainer starts nginx from NginxImage in a container named
// bgtest-nginx-<random>, waits until it answers HTTP, and removes it when
// the test ends.
func StartNginxContainer(t testing.TB, opts NginxContainerOptions) *NginxContainer {
	t.Helper()
	cli := RequireDocker(t)
	img := NginxImage(t)
	dir := t.TempDir()
	ctx := context.Background()
	confDir := filepath.Join(dir, "conf.d")
	confSource := confDir
	if opts.Volume {
		confSource = UniqueName("bgtest-conf")
		vol, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: confSource})
		if err != nil {
			t.Fatalf("failed to create volume %s: %v", confSource, err)
		}
		// Registered before the container's cleanup, so it runs after it.
		t.Cleanup(func() { _ = cli.VolumeRemove(context.Background(), confSource, true) })
		confDir = vol.Mountpoint
	}
	if err := os.MkdirAll(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := &NginxContainer{
		Name:            UniqueName("bgtest-nginx"),
		Port:            FreePort(t),
		ConfDir:         confDir,
		IncludePath:     "/etc/nginx/conf.d/service-url.inc",
		IncludeHostPath: filepath.Join(confDir, "service-url.inc"),
		docker:          cli,
	}
	include := opts.Include
	if include == "" {
		include = "set $service_url http://127.0.0.1:1;\n"
	}
	if err := os.WriteFile(n.IncludeHostPath, []byte(include), 0o644); err != nil {
		t.Fatal(err)
	}
	netMode := opts.Network
	if netMode == "" {
		netMode = "host"
	}
	listen := "80"
	if netMode == "host" {
		listen = fmt.Sprintf("127.0.0.1:%d", n.Port)
	}
	server := opts.Server
	if server == "" {
		server = SeedServer
	}
	conf := fmt.Sprintf(`user www-data;
worker_processes 2;
pid /run/nginx.pid;
error_log stderr info;
events { worker_connections 1024; }
http {
    access_log off;
%s
    server {
        listen %s;
%s
    }
}
`, opts.HTTP, listen, server)
	conf = strings.ReplaceAll(conf, "%INCLUDE%", n.IncludePath)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	binds := []string{confPath + ":/etc/nginx/nginx.conf:ro"}
	if opts.SingleFileInclude {
		binds = append(binds, n.IncludeHostPath+":"+n.IncludePath)
	} else {
		binds = append(binds, confSource+":/etc/nginx/conf.d")
	}
	hc := &container.HostConfig{NetworkMode: container.NetworkMode(netMode), Binds: binds}
	cc := &container.Config{Image: img, Labels: map[string]string{"bluegreen.test": t.Name()}}
	if netMode != "host" {
		port := nat.Port("80/tcp")
		cc.ExposedPorts = nat.PortSet{port: {}}
		hc.PortBindings = nat.PortMap{port: {{HostIP: "127.0.0.1", HostPort: fmt.Sprint(n.Port)}}}
	}
	created, err := cli.ContainerCreate(ctx, cc, hc, nil, nil, n.Name)
	if err != nil {
		t.Fatalf("failed to create nginx container: %v", err)
	}
	n.ID = created.ID
	t.Cleanup(func() {
		_ = cli.ContainerRemove(context.Background(), n.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	})
	if err := cli.ContainerStart(ctx, n.ID, container.StartOptions{}); err != nil {
		t.Fatalf("failed to start nginx container: %v", err)
	}
	// Docker's userland proxy accepts TCP before nginx listens, so only an
	// HTTP answer (any status) proves nginx is up.
	hcli := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := hcli.Get(n.URL("/"))
		if err == nil {
			resp.Body.Close()
			if resp.Header.Get("Server") != "" {
				return n
			}
		}
		if info, ierr := cli.ContainerInspect(ctx, n.ID); ierr == nil && info.State != nil && !info.State.Running {
			t.Fatalf("nginx container exited at start: %s", n.Logs())
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx container did not answer on %s within 15s (%v): %s", n.URL("/"), err, n.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/bluegreen-action/bluegreen/cmd/internal/demosite"
)

// floor is what one deploy cannot be faster than on this machine, measured
// with the same app and nginx: a plain `docker run` of the app until its
// health path first answers 200 (polled every 10 ms), the include pointed
// at it and one nginx reload, until the front door serves it, and one
// `docker stop` and `rm` of a container. No locking, no checks, no drain:
// the bare work.
func floor(ctx context.Context, s *demosite.Site, port int) (wall time.Duration, err error) {
	m, err := floorRun(ctx, s, port)
	return m.wall, err
}

// floorRun is floor that also returns toNew, the time until nginx's front
// door first served the floor's container (see watcher). The include that
// served before is put back afterwards, outside the times.
//
// The container is the compose file's web service as Docker runs it: it
// joins a network of its own, created once, as a compose service joins
// its project's network (and a Kamal app the kamal network), and it is
// published on every interface, as the file says. On Docker's default
// bridge, which no compose service uses, a container starts 0.3 to 0.5 s
// sooner on this machine.
func floorRun(ctx context.Context, s *demosite.Site, port int) (m floorTimes, err error) {
	nw, err := floorNetwork(ctx, s)
	if err != nil {
		return m, err
	}
	start := time.Now()
	// Watched from the start, as a deploy is: the watcher's requests
	// through nginx to the live color load the machine alike.
	w := watchFrontDoor(ctx, s.Nginx.URL("/"), "floor")
	defer w.stop()
	name := fmt.Sprintf("%s-floor-%d", s.Project, time.Now().UnixNano())
	// Published as the demo's compose file publishes its web service
	// ("${BLUEGREEN_PORT}:8080": every interface).
	binding := nat.PortMap{"8080/tcp": {{HostPort: strconv.Itoa(port)}}}
	created, err := s.Docker.ContainerCreate(ctx, &container.Config{
		Image:        s.Image,
		Env:          []string{"VERSION=floor", "READY_AFTER=1s"},
		ExposedPorts: nat.PortSet{"8080/tcp": {}},
	}, &container.HostConfig{PortBindings: binding, NetworkMode: container.NetworkMode(nw)}, nil, nil, name)
	if err != nil {
		return m, fmt.Errorf("failed to create the floor container: %w", err)
	}
	defer func() {
		_ = s.Docker.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	}()
	if err := s.Docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return m, fmt.Errorf("failed to start the floor container: %w", err)
	}
	m.started = time.Since(start)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/health"
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > time.Minute {
			return m, fmt.Errorf("the floor container never answered %s", url)
		}
		time.Sleep(10 * time.Millisecond)
	}
	includePath := s.Inputs["nginx-include-path"]
	prev, err := os.ReadFile(includePath)
	if err != nil {
		return m, fmt.Errorf("failed to read the include: %w", err)
	}
	if err := os.WriteFile(includePath, floorInclude(prev, port), 0o644); err != nil {
		return m, fmt.Errorf("failed to write the include: %w", err)
	}
	reload := s.Nginx.ReloadCmd()
	if out, err := exec.CommandContext(ctx, reload[0], reload[1:]...).CombinedOutput(); err != nil {
		return m, fmt.Errorf("failed to reload nginx: %v: %s", err, out)
	}
	served, err := w.wait(30 * time.Second)
	if err != nil {
		return m, fmt.Errorf("floor: %w", err)
	}
	m.toNew = served.Sub(start)
	// Put back what served before, untimed: the next deploy finds it.
	if err := os.WriteFile(includePath, prev, 0o644); err != nil {
		return m, fmt.Errorf("failed to restore the include: %w", err)
	}
	if out, err := exec.CommandContext(ctx, reload[0], reload[1:]...).CombinedOutput(); err != nil {
		return m, fmt.Errorf("failed to reload nginx: %v: %s", err, out)
	}
	stopStart := time.Now()
	stopTimeout := 10
	if err := s.Docker.ContainerStop(ctx, created.ID, container.StopOptions{Timeout: &stopTimeout}); err != nil {
		return m, fmt.Errorf("failed to stop the floor container: %w", err)
	}
	if err := s.Docker.ContainerRemove(ctx, created.ID, container.RemoveOptions{}); err != nil {
		return m, fmt.Errorf("failed to remove the floor container: %w", err)
	}
	m.wall = m.toNew + time.Since(stopStart)
	return m, nil
}

// floorTimes are one floor run's times from its start: until its
// container had started (create and start), until the front door served
// it, and the whole run.
type floorTimes struct{ started, toNew, wall time.Duration }

// floorInclude points the site's include at the floor's port: the seed's
// server-context include, or an upstream of one server for a site whose
// include is an upstream.
func floorInclude(prev []byte, port int) []byte {
	if bytes.Contains(prev, []byte("upstream ")) {
		return fmt.Appendf(nil, "upstream app { server 127.0.0.1:%d; }\n", port)
	}
	return fmt.Appendf(nil, "set $service_url http://127.0.0.1:%d;\n", port)
}

// floorNetwork is the floor's network, "<project>-floor_default", created
// by the first floor run of a site; removeFloorNetwork removes it.
func floorNetwork(ctx context.Context, s *demosite.Site) (string, error) {
	name := s.Project + "-floor_default"
	if _, err := s.Docker.NetworkInspect(ctx, name, network.InspectOptions{}); err == nil {
		return name, nil
	}
	if _, err := s.Docker.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge"}); err != nil {
		return "", fmt.Errorf("failed to create the floor's network: %w", err)
	}
	return name, nil
}

func removeFloorNetwork(s *demosite.Site) {
	_ = s.Docker.NetworkRemove(context.Background(), s.Project+"-floor_default")
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/bluegreen-action/bluegreen/cmd/internal/demosite"
)

// floor is what one deploy cannot be faster than on this machine, measured
// with the same app and nginx: a plain `docker run` of the app until its
// health path first answers 200 (polled every 10 ms), one nginx reload,
// and one `docker stop` and `rm` of the old container. No locking, no
// checks, no drain: the bare work.
func floor(ctx context.Context, s *demosite.Site, port int) (wall time.Duration, err error) {
	_, wall, err = floorRun(ctx, s, port)
	return wall, err
}

// floorRun is floor that also returns toNew, the time until the reload
// returned: from then on nginx would serve the new container.
func floorRun(ctx context.Context, s *demosite.Site, port int) (toNew, wall time.Duration, err error) {
	start := time.Now()
	name := fmt.Sprintf("%s-floor-%d", s.Project, time.Now().UnixNano())
	binding := nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(port)}}}
	created, err := s.Docker.ContainerCreate(ctx, &container.Config{
		Image:        s.Image,
		Env:          []string{"VERSION=floor", "READY_AFTER=1s"},
		ExposedPorts: nat.PortSet{"8080/tcp": {}},
	}, &container.HostConfig{PortBindings: binding}, nil, nil, name)
	if err != nil {
		return 0, 0, fmt.Errorf("failed to create the floor container: %w", err)
	}
	defer func() {
		_ = s.Docker.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	}()
	if err := s.Docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return 0, 0, fmt.Errorf("failed to start the floor container: %w", err)
	}
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
			return 0, 0, fmt.Errorf("the floor container never answered %s", url)
		}
		time.Sleep(10 * time.Millisecond)
	}
	reload := s.Nginx.ReloadCmd()
	if out, err := exec.CommandContext(ctx, reload[0], reload[1:]...).CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("failed to reload nginx: %v: %s", err, out)
	}
	toNew = time.Since(start)
	stopTimeout := 10
	if err := s.Docker.ContainerStop(ctx, created.ID, container.StopOptions{Timeout: &stopTimeout}); err != nil {
		return 0, 0, fmt.Errorf("failed to stop the floor container: %w", err)
	}
	if err := s.Docker.ContainerRemove(ctx, created.ID, container.RemoveOptions{}); err != nil {
		return 0, 0, fmt.Errorf("failed to remove the floor container: %w", err)
	}
	return toNew, time.Since(start), nil
}

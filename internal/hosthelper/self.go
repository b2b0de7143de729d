package hosthelper

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// self is the action container this process runs in.
type self struct {
	ID      string
	Name    string
	Image   string // the image id, so the helper runs the very same binary
	Mounts  []Mount
	Network string // HostConfig.NetworkMode, e.g. "container:<id>" under act
}

// ErrNotInContainer means no container of the daemon holds this process:
// it runs on the daemon's host (or somewhere the daemon cannot see), so
// there is nothing to leave and the deploy runs in this process.
var ErrNotInContainer = errors.New("this process is not in a container of this Docker daemon")

// maxScan bounds how many running containers are checked when the quick
// clues (cgroup, mountinfo, hostname) name none that holds this process.
const maxScan = 200

// findSelf finds the container this process runs in.
//
// The quick clues can each point at the wrong container: under act the
// action container shares the job container's network namespace, and with
// it the job container's hostname, /etc/hosts and /etc/resolv.conf (so
// the hostname and mountinfo name the job container); under cgroup v2
// /proc/self/cgroup often says only "0::/". So every candidate is proven
// by a probe: a file with a random name written into this process's own
// root file system, which the Docker API can stat only in the container
// whose root it is.
func findSelf(ctx context.Context, docker client.APIClient) (self, error) {
	probe, cleanup := writeProbe()
	defer cleanup()

	tried := map[string]bool{}
	check := func(ref string) (self, bool) {
		if ref == "" || tried[ref] {
			return self{}, false
		}
		tried[ref] = true
		info, err := docker.ContainerInspect(ctx, ref)
		if err != nil || info.State == nil || !info.State.Running {
			return self{}, false
		}
		if tried[info.ID] && ref != info.ID {
			return self{}, false
		}
		tried[info.ID] = true
		if probe == "" {
			return self{}, false
		}
		if _, err := docker.ContainerStatPath(ctx, info.ID, probe); err != nil {
			return self{}, false
		}
		return fromInspect(info), true
	}

	clues := candidates(readOr("/proc/self/cgroup"), readOr("/proc/self/mountinfo"), hostname())
	for _, ref := range clues {
		if s, ok := check(ref); ok {
			return s, nil
		}
	}
	if probe == "" {
		// A read-only root file system leaves no room for the probe. The
		// cgroup path is the one clue no other container shares.
		if id := cgroupID(readOr("/proc/self/cgroup")); id != "" {
			if info, err := docker.ContainerInspect(ctx, id); err == nil {
				return fromInspect(info), nil
			}
		}
		return self{}, fmt.Errorf("failed to find this action's container: its root file system is read-only, so it cannot be told apart from others (clues: %s)", strings.Join(clues, ", "))
	}

	list, err := docker.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return self{}, fmt.Errorf("failed to list containers to find this action's own: %w", err)
	}
	for i, c := range list {
		if i >= maxScan {
			break
		}
		if s, ok := check(c.ID); ok {
			return s, nil
		}
	}
	return self{}, ErrNotInContainer
}

func fromInspect(info container.InspectResponse) self {
	s := self{ID: info.ID, Name: strings.TrimPrefix(info.Name, "/"), Image: info.Image}
	if info.HostConfig != nil {
		s.Network = string(info.HostConfig.NetworkMode)
	}
	for _, m := range info.Mounts {
		s.Mounts = append(s.Mounts, Mount{Type: string(m.Type), Name: m.Name, Source: m.Source, Destination: m.Destination})
	}
	return s
}

// writeProbe writes a file with a random name at the root of this
// process's file system (or in /tmp) and returns its path, or "" when
// neither is writable.
func writeProbe() (string, func()) {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	name := ".bluegreen-self-" + hex.EncodeToString(b)
	for _, dir := range []string{"/", "/tmp"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err == nil {
			return p, func() { _ = os.Remove(p) }
		}
	}
	return "", func() {}
}

var (
	// cgroupRE finds a container id in a cgroup path: /docker/<id> with
	// the cgroupfs driver, docker-<id>.scope with systemd.
	cgroupRE = regexp.MustCompile(`(?:/docker/|docker-)([0-9a-f]{64})(?:\.scope)?(?:/|$)`)
	// mountinfoRE finds the container directory Docker bind-mounts
	// /etc/hostname, /etc/hosts and /etc/resolv.conf from.
	mountinfoRE = regexp.MustCompile(`/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\.conf)\s`)
	hostnameRE  = regexp.MustCompile(`^[0-9a-f]{12,64}$`)
)

// candidates lists the container ids and names the process's clues point
// at, most trustworthy first: the cgroup, the mounted hostname/hosts
// files, the hostname.
func candidates(cgroup, mountinfo, host string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(cgroupID(cgroup))
	for _, m := range mountinfoRE.FindAllStringSubmatch(mountinfo, -1) {
		add(m[1])
	}
	if hostnameRE.MatchString(host) {
		add(host)
	}
	return out
}

func cgroupID(cgroup string) string {
	for _, line := range strings.Split(cgroup, "\n") {
		if m := cgroupRE.FindStringSubmatch(line); m != nil {
			return m[1]
		}
	}
	return ""
}

func readOr(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(b)
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(h)
}

package compose

// References between services: security options, volumes_from,
// service: and container: namespaces, links.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
)

// securityOpts maps security_opt as docker compose does: a seccomp
// profile given as a file is read (relative to the project directory) and
// sent as its compacted JSON, since the engine takes the profile itself,
// not a path; systempaths=unconfined becomes empty masked and read-only
// path lists.
func securityOpts(p *types.Project, s types.ServiceConfig) ([]string, bool, error) {
	var out []string
	unconfined := false
	for _, opt := range s.SecurityOpt {
		if opt == "systempaths=unconfined" {
			unconfined = true
			continue
		}
		key, value, err := splitSecurityOpt(opt)
		if err != nil {
			return nil, false, fmt.Errorf("failed to read security_opt of service %s: %w", s.Name, err)
		}
		if key != "seccomp" || value == "unconfined" || value == "builtin" {
			out = append(out, opt)
			continue
		}
		path := value
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.WorkingDir, path)
		}
		data, err := readSmallFile(path, MaxFileSize)
		if err != nil {
			return nil, false, fmt.Errorf("failed to read the seccomp profile of service %s: %w", s.Name, err)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, data); err != nil {
			return nil, false, fmt.Errorf("failed to read the seccomp profile %s of service %s: it is not JSON: %w", path, s.Name, err)
		}
		out = append(out, "seccomp="+b.String())
	}
	return out, unconfined, nil
}

// readSmallFile reads a regular file of at most limit bytes.
func readSmallFile(path string, limit int64) ([]byte, error) {
	if err := checkFile("file", path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("file %s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// volumesFrom maps volumes_from: a container is named as it is; a service
// stays service:<name> until resolveServiceRefs knows its container.
func volumesFrom(s types.ServiceConfig) []string {
	var out []string
	for _, v := range s.VolumesFrom {
		ref, mode, err := parseVolumesFrom(v)
		if err != nil {
			continue // Check refused it
		}
		entry := ref.container
		if ref.service != "" {
			entry = types.ServicePrefix + ref.service
		}
		if mode != "" {
			entry += ":" + mode
		}
		out = append(out, entry)
	}
	return out
}

// resolveServiceRefs replaces service:<name> in network_mode, ipc, pid and
// volumes_from by the container that the named service runs (its first
// one), as docker compose does; id returns it.
func resolveServiceRefs(h *container.HostConfig, id func(service string) (string, bool)) error {
	resolve := func(key, value string) (string, error) {
		name, ok := strings.CutPrefix(value, types.ServicePrefix)
		if !ok {
			return value, nil
		}
		svc, rest, _ := strings.Cut(name, ":")
		cid, ok := id(svc)
		if !ok {
			return "", fmt.Errorf("%s refers to service %s, whose container was not created", key, svc)
		}
		if key == "volumes_from" {
			if rest != "" {
				return cid + ":" + rest, nil
			}
			return cid, nil
		}
		return types.ContainerPrefix + cid, nil
	}
	var err error
	var v string
	if v, err = resolve("network_mode", string(h.NetworkMode)); err != nil {
		return err
	}
	h.NetworkMode = container.NetworkMode(v)
	if v, err = resolve("ipc", string(h.IpcMode)); err != nil {
		return err
	}
	h.IpcMode = container.IpcMode(v)
	if v, err = resolve("pid", string(h.PidMode)); err != nil {
		return err
	}
	h.PidMode = container.PidMode(v)
	for i, from := range h.VolumesFrom {
		if h.VolumesFrom[i], err = resolve("volumes_from", from); err != nil {
			return err
		}
	}
	return nil
}

// serviceRefs lists the services whose containers must exist before this
// service's are created: Docker resolves network_mode, ipc, pid,
// volumes_from and legacy links when it creates a container.
func serviceRefs(s types.ServiceConfig) []string {
	set := map[string]bool{}
	for _, v := range []string{s.NetworkMode, s.Ipc, s.Pid} {
		if name, ok := strings.CutPrefix(v, types.ServicePrefix); ok {
			set[name] = true
		}
	}
	for _, v := range s.VolumesFrom {
		if ref, _, err := parseVolumesFrom(v); err == nil && ref.service != "" {
			set[ref.service] = true
		}
	}
	for _, l := range s.Links {
		name, _, _ := strings.Cut(l, ":")
		set[name] = true
	}
	delete(set, s.Name)
	return sortedKeys(set)
}

// serviceLinks maps links and external_links the way docker compose does
// (its getLinks, after docker-compose v1): each container of a linked
// service is linked under the alias, under <service>-<n> and under
// <project>-<service>-<n>, n being this container's number; an external
// link is passed as written.
func serviceLinks(p *types.Project, s types.ServiceConfig, number int) []string {
	var links []string
	for _, l := range s.Links {
		svc, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = svc
		}
		target, found := p.Services[svc]
		if !found {
			continue // Check refused it
		}
		n := strconv.Itoa(number)
		for i := 1; i <= max(replicas(target), 1); i++ {
			name := containerName(p.Name, target, i)
			links = append(links, name+":"+alias, name+":"+svc+"-"+n, name+":"+p.Name+"-"+svc+"-"+n)
		}
	}
	for _, l := range s.ExternalLinks {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = name
		}
		links = append(links, name+":"+alias)
	}
	return links
}

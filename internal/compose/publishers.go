package compose

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// Publishers returns the running containers that publish any of ports on
// the host over TCP, whatever project they belong to (or none), from one
// container list: a few fields, no inspect. Only ID, Name, Project,
// Service, State, Running and PublishedPorts are filled. It is how a
// deploy finds who else holds the colors' ports before it touches
// anything.
func (e *Engine) Publishers(ctx context.Context, ports ...int) ([]Container, error) {
	want := map[uint16]bool{}
	for _, p := range ports {
		if p > 0 && p < 1<<16 {
			want[uint16(p)] = true
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	list, err := e.Docker.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list running containers: %w", err)
	}
	var out []Container
	for _, s := range list {
		var hit []uint16
		for _, p := range s.Ports {
			if want[p.PublicPort] && (p.Type == "" || p.Type == "tcp") && !containsPort(hit, p.PublicPort) {
				hit = append(hit, p.PublicPort)
			}
		}
		if len(hit) == 0 {
			continue
		}
		sort.Slice(hit, func(i, j int) bool { return hit[i] < hit[j] })
		name := s.ID
		if len(name) > 12 {
			name = name[:12]
		}
		if len(s.Names) > 0 {
			name = strings.TrimPrefix(s.Names[0], "/")
		}
		out = append(out, Container{
			ID: s.ID, Name: name, Project: s.Labels[LabelProject], Service: s.Labels[LabelService],
			Image: s.Image, State: s.State, Running: s.State == "running", PublishedPorts: hit,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func containsPort(ports []uint16, p uint16) bool {
	for _, q := range ports {
		if q == p {
			return true
		}
	}
	return false
}

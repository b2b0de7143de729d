package compose

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"
)

// listOnly is a Docker client that only lists containers.
type listOnly struct {
	client.APIClient
	list []container.Summary
	opts container.ListOptions
}

func (l *listOnly) ContainerList(_ context.Context, opts container.ListOptions) ([]container.Summary, error) {
	l.opts = opts
	return l.list, nil
}

func TestPublishers(t *testing.T) {
	t.Parallel()
	docker := &listOnly{list: []container.Summary{
		{ID: "aaaaaaaaaaaaaaaa", Names: []string{"/oldapp-blue"}, State: "running", Image: "acme/app:latest",
			Labels: map[string]string{LabelProject: "oldapp-blue", LabelService: "spring-backend"},
			Ports:  []container.Port{{IP: "0.0.0.0", PublicPort: 8081, PrivatePort: 8080, Type: "tcp"}, {IP: "::", PublicPort: 8081, PrivatePort: 8080, Type: "tcp"}}},
		{ID: "bbbbbbbbbbbbbbbb", Names: []string{"/dns"}, State: "running",
			Ports: []container.Port{{IP: "0.0.0.0", PublicPort: 8082, PrivatePort: 53, Type: "udp"}}},
		{ID: "cccccccccccccccc", Names: []string{"/squatter"}, State: "running",
			Ports: []container.Port{{IP: "127.0.0.1", PublicPort: 8082, PrivatePort: 80, Type: "tcp"}}},
		{ID: "dddddddddddddddd", Names: []string{"/other"}, State: "running",
			Ports: []container.Port{{IP: "0.0.0.0", PublicPort: 9000, PrivatePort: 80, Type: "tcp"}, {PrivatePort: 8081, Type: "tcp"}}},
	}}
	e := &Engine{Docker: docker}
	got, err := e.Publishers(context.Background(), 8081, 8082)
	require.NoError(t, err)
	require.False(t, docker.opts.All, "only running containers hold ports")
	require.Equal(t, []Container{
		{ID: "aaaaaaaaaaaaaaaa", Name: "oldapp-blue", Project: "oldapp-blue", Service: "spring-backend", Image: "acme/app:latest", State: "running", Running: true, PublishedPorts: []uint16{8081}},
		{ID: "cccccccccccccccc", Name: "squatter", State: "running", Running: true, PublishedPorts: []uint16{8082}},
	}, got)

	none, err := e.Publishers(context.Background())
	require.NoError(t, err)
	require.Empty(t, none)
}

//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"
)

// tagStandIn tags the local image standIn under an official name, for a
// compose file that names it, and removes that tag when the test ends.
// No registry is reachable here; a name the host already has is never
// retagged (the test is skipped instead), so nobody's image is replaced.
func tagStandIn(t *testing.T, docker *client.Client, standIn, official string) {
	t.Helper()
	ctx := context.Background()
	if _, err := docker.ImageInspect(ctx, official); err == nil {
		t.Skipf("this host has an image %s of its own; the stand-in is not tagged over it", official)
	}
	require.NoError(t, docker.ImageTag(ctx, standIn, official))
	want, err := docker.ImageInspect(ctx, standIn)
	require.NoError(t, err)
	t.Cleanup(func() {
		if got, err := docker.ImageInspect(context.Background(), official); err == nil && got.ID == want.ID {
			_, _ = docker.ImageRemove(context.Background(), official, image.RemoveOptions{})
		}
	})
}

// sharedContainers lists the ids of the shared project's running
// containers.
func (f *fixture) sharedContainers(t *testing.T) []string {
	t.Helper()
	list, err := f.docker.ContainerList(context.Background(), container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+f.project+"-shared"))})
	require.NoError(t, err)
	var out []string
	for _, c := range list {
		out = append(out, c.ID+" "+strings.TrimPrefix(c.Names[0], "/"))
	}
	return out
}

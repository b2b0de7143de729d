//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
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

// TestRealAppUmamiDeploysUnchanged deploys testdata/compose-apps/umami
// (its web on a fixed "3000:3000" with a CMD-SHELL healthcheck, waiting
// for a healthy postgres with a named volume) with nothing added but the
// declaration of its shared database, twice: the images are stand-ins
// tagged locally under the official names. The second deploy leaves the
// database alone, container and all.
func TestRealAppUmamiDeploysUnchanged(t *testing.T) {
	t.Parallel()
	docker := testenv.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tagStandIn(t, docker, shopImage(ctx, t, docker, "web", "bge2e-shop-umami", "ENV PORT=3000\n"), "ghcr.io/umami-software/umami:postgresql-latest")
	tagStandIn(t, docker, shopImage(ctx, t, docker, "db", "bge2e-shop-postgres", ""), "postgres:15-alpine")

	f := newFixture(t, map[string]string{})
	require.NoError(t, throwaway.CopyDir(filepath.Join(testenv.RepoRoot(t), "testdata", "compose-apps", "umami"), f.dir))
	t.Cleanup(func() { removeShared(f) })
	f.inputs["compose-file"] = "docker-compose.yml\nbluegreen.yml"
	f.inputs["health-path"] = "/"
	// umami's healthcheck runs every 5 s: a budget that waits for its
	// first run.
	f.inputs["health-interval"] = "1s"
	f.inputs["health-retries"] = "30"

	r := f.deploy(nil, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "service umami publishes 3000:3000 in the compose file")
	require.Contains(t, r.out, "shared service: created db")
	dbs := f.sharedContainers(t)
	require.Len(t, dbs, 1, "one database")

	r = f.deploy(nil, "VERSION=v2")
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "shared service db left alone")
	require.Equal(t, dbs, f.sharedContainers(t), "the database is the same container")
	require.Equal(t, "green", r.outputs["active-color"])
	code, body, err := f.get("/")
	require.NoError(t, err)
	require.Equal(t, 200, code, body)
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

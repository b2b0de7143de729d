//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// standIn is one image a real compose file names, played by the shop
// binary: cmd is its CMD, extra its Dockerfile's further lines.
type standIn struct {
	official, repo, cmd, extra string
}

// webOn is a stand-in web that listens on port whatever the compose file
// gives it as command (listmonk's install-and-serve sh -c, healthchecks'
// bash -c that waits for the database and starts uwsgi): its entrypoint
// takes the role, and the command's words are left over.
func webOn(official, repo, port string) standIn {
	return standIn{official: official, repo: repo, extra: "ENV PORT=" + port + "\nENTRYPOINT [\"/shop\", \"web\"]\n"}
}

func dbAs(official string) standIn {
	return standIn{official: official, repo: "bge2e-shop-postgres", cmd: "db"}
}

// TestRealAppsDeployUnchanged deploys each of testdata/compose-apps with
// nothing added but its bluegreen.yml (the declaration of its shared
// database), twice, with stand-in images tagged locally under the
// official names (no registry is reachable here): the first deploy
// creates the database in the shared project, the second leaves it alone,
// the same container, and switches to green, which answers.
func TestRealAppsDeployUnchanged(t *testing.T) {
	t.Parallel() // beside the other tests; its apps run one after another
	apps := []struct {
		dir, workdir, files, shared, note string
		images                            []standIn
	}{
		{"umami", "", "docker-compose.yml\nbluegreen.yml", "db", "service umami publishes 3000:3000 in the compose file",
			[]standIn{webOn("ghcr.io/umami-software/umami:postgresql-latest", "bge2e-shop-umami", "3000"), dbAs("postgres:15-alpine")}},
		{"n8n", "", "docker-compose.yml\nbluegreen.yml", "postgres", "service n8n publishes 5678:5678",
			[]standIn{webOn("docker.n8n.io/n8nio/n8n:latest", "bge2e-shop-n8n", "5678"), dbAs("postgres:16"),
				{official: "n8nio/runners:latest", repo: "bge2e-shop-worker", cmd: "worker"}}},
		{"formbricks", "", "docker-compose.yml\nbluegreen.yml", "postgres", "service formbricks publishes 3000:3000",
			[]standIn{webOn("ghcr.io/formbricks/formbricks:latest", "bge2e-shop-umami", "3000"), dbAs("pgvector/pgvector:pg17")}},
		// Run from docker/, as its docs say (docker compose up there): its
		// .env is there, and web is built from .. with docker/Dockerfile,
		// FROM python:3.12-slim.
		{"healthchecks", "docker", "docker-compose.yml\nbluegreen.yml", "db", "service web publishes 8000:8000",
			[]standIn{webOn("python:3.12-slim", "bge2e-shop-hc", "8000"), dbAs("postgres:16")}},
		{"listmonk", "", "docker-compose.yml\nbluegreen.yml", "db", "service app publishes 9000:9000",
			[]standIn{webOn("listmonk/listmonk:latest", "bge2e-shop-listmonk", "9000"), dbAs("postgres:17-alpine")}},
		{"ghost", "", "stack.yml\nbluegreen.yml", "db", "service ghost publishes 8080:2368",
			[]standIn{webOn("ghost:5-alpine", "bge2e-shop-ghost", "2368"), dbAs("mysql:8.0")}},
	}
	docker := testenv.RequireDocker(t)
	for _, app := range apps {
		// One after another: n8n and healthchecks both name postgres:16,
		// and each app's tags go when its subtest ends.
		t.Run(app.dir, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			for _, s := range app.images {
				tagStandIn(t, docker, shopImage(ctx, t, docker, s.cmd, s.repo, s.extra), s.official)
			}
			f := newFixture(t, map[string]string{})
			require.NoError(t, throwaway.CopyDir(filepath.Join(testenv.RepoRoot(t), "testdata", "compose-apps", app.dir), f.dir))
			t.Cleanup(func() { removeBuilt(f) }) // after the containers that use them
			t.Cleanup(func() { removeShared(f) })
			f.inputs["compose-file"] = app.files
			f.inputs["working-directory"] = app.workdir
			f.inputs["health-path"] = "/"
			// umami's healthcheck runs every 5 s: a budget that waits
			// for its first run.
			f.inputs["health-interval"] = "1s"
			f.inputs["health-retries"] = "30"

			r := f.deploy(nil, "VERSION=v1")
			require.Equal(t, 0, r.code, r.out)
			require.Contains(t, r.out, app.note)
			require.Contains(t, r.out, "shared service: created "+app.shared)
			dbs := f.sharedContainers(t)
			require.Len(t, dbs, 1, "one database")

			r = f.deploy(nil, "VERSION=v2")
			require.Equal(t, 0, r.code, r.out)
			require.Contains(t, r.out, "shared service "+app.shared+" left alone")
			require.Equal(t, dbs, f.sharedContainers(t), "the database is the same container")
			require.Equal(t, "green", r.outputs["active-color"])
			code, body, err := f.get("/")
			require.NoError(t, err)
			require.Equal(t, 200, code, body)
		})
	}
}

// removeBuilt removes the images the deploys built for the app's colors
// (<project>-<color>-<service>:<deploy id>).
func removeBuilt(f *fixture) {
	ctx := context.Background()
	for _, color := range []string{"blue", "green"} {
		list, err := f.docker.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", f.project+"-"+color+"-*"))})
		if err != nil {
			continue
		}
		for _, img := range list {
			for _, ref := range img.RepoTags {
				_, _ = f.docker.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
			}
		}
	}
}

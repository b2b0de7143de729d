//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// shopImages builds e2e/testdata/shop into the stand-ins of
// examples/app-with-database: the app, a postgres and a redis, each FROM
// scratch (no registry is reachable in the tests).
func shopImages(t testing.TB, docker *client.Client) (app, pg, redis string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := func(cmd, repo string) string {
		return shopImage(ctx, t, docker, cmd, repo, "")
	}
	return build("", "bge2e-shop"), build("db", "bge2e-shop-postgres"), build("cache", "bge2e-shop-redis")
}

// shopImage builds one stand-in: the shop binary as /shop, as pg_isready
// and as /bin/sh (for CMD-SHELL healthchecks), with cmd as its CMD and
// extra lines in its Dockerfile.
func shopImage(ctx context.Context, t testing.TB, docker *client.Client, cmd, repo, extra string) string {
	t.Helper()
	dockerfile := "FROM scratch\nCOPY shop /shop\nCOPY shop /usr/bin/pg_isready\nCOPY shop /bin/sh\nENV PATH=/usr/bin:/bin\nENTRYPOINT [\"/shop\"]\n" + extra
	if cmd != "" {
		dockerfile += "CMD [\"" + cmd + "\"]\n"
	}
	tag, err := throwaway.BuildBinaryImage(ctx, docker, testenv.RepoRoot(t), "./e2e/testdata/shop", "shop", dockerfile, repo)
	require.NoError(t, err)
	return tag
}

// shopFixture is examples/app-with-database/docker-compose.yml on a
// private nginx, changed only where the test must: the stand-in images,
// a container_name and a database host port of its own.
func shopFixture(t testing.TB) (*fixture, string) {
	t.Helper()
	docker := testenv.RequireDocker(t)
	app, pg, redis := shopImages(t, docker)
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "app-with-database", "docker-compose.yml"))
	require.NoError(t, err)
	text := string(b)
	for _, s := range []string{"ghcr.io/acme/shop:${VERSION:-v1}", "image: postgres:16", "image: redis:7", "container_name: shop-db", `"127.0.0.1:5432:5432"`} {
		require.Contains(t, text, s, "the example has %s", s)
	}
	f := newFixture(t, map[string]string{})
	dbName := f.project + "-db"
	text = strings.NewReplacer(
		"ghcr.io/acme/shop:${VERSION:-v1}", app,
		"image: postgres:16", "image: "+pg,
		"image: redis:7", "image: "+redis,
		"container_name: shop-db", "container_name: "+dbName,
		`"127.0.0.1:5432:5432"`, fmt.Sprintf(`"127.0.0.1:%d:5432"`, testenv.FreePort(t)),
	).Replace(text)
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "docker-compose.yml"), []byte(text), 0o644))
	t.Cleanup(func() { removeShared(f) })
	return f, dbName
}

// removeShared removes the colors first (their containers are attached to
// the shared project's network, which cannot go before them), then the
// shared project and the app's named volumes.
func removeShared(f *fixture) {
	f.cleanup()
	throwaway.RemoveProject(f.docker, f.project+"-shared")
	throwaway.RemoveProject(f.docker, f.project)
}

// sampler lists every 100 ms the running containers of the database and of
// the scheduler, in all of the app's projects, and keeps the most of each
// it ever saw at once.
type sampler struct {
	mu      sync.Mutex
	most    map[string]int
	samples int
	errs    []string
	stop    chan struct{}
	done    sync.WaitGroup
}

func startSampler(f *fixture, services ...string) *sampler {
	s := &sampler{most: map[string]int{}, stop: make(chan struct{})}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			n := map[string]int{}
			for _, project := range []string{f.project + "-blue", f.project + "-green", f.project + "-shared"} {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				list, err := f.docker.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+project))})
				cancel()
				if err != nil {
					s.mu.Lock()
					s.errs = append(s.errs, err.Error())
					s.mu.Unlock()
					continue
				}
				for _, c := range list {
					n[c.Labels["com.docker.compose.service"]]++
				}
			}
			s.mu.Lock()
			s.samples++
			for _, svc := range services {
				s.most[svc] = max(s.most[svc], n[svc])
			}
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *sampler) finish() (most map[string]int, samples int, errs []string) {
	close(s.stop)
	s.done.Wait()
	return s.most, s.samples, s.errs
}

// item reads or writes an item through nginx's front door.
func (f *fixture) item(t *testing.T, key, value string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	method := http.MethodGet
	if value != "" {
		method = http.MethodPut
	}
	req, err := http.NewRequest(method, f.nginx.URL("/items/"+key), strings.NewReader(value))
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, resp.Status, " ")
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	require.Equal(t, http.StatusOK, resp.StatusCode, b.String())
	return strings.TrimSpace(string(buf[:n]))
}

func containerID(t *testing.T, docker *client.Client, name string) string {
	t.Helper()
	info, err := docker.ContainerInspect(context.Background(), name)
	require.NoError(t, err)
	require.True(t, info.State.Running, "%s runs", name)
	return info.ID
}

// TestAppWithDatabase deploys examples/app-with-database (web on a fixed
// host port, a database with a named volume, container_name and its own
// host port, a cache, a migration job, a worker, a scheduler) v1 → v2
// under load without a failed request; the database is the same
// container throughout; data written in v1 reads back after v2, after a
// rollback, after a deploy whose migration exits 1 (which fails before
// the switch, naming the job), and after a rollback past that failure; a sample every 100 ms never sees two
// databases or two schedulers.
func TestAppWithDatabase(t *testing.T) {
	t.Parallel()
	f, dbName := shopFixture(t)
	s := startSampler(f, "db", "scheduler")

	r := f.deploy(nil, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "Output of job migrate (blue)")
	require.Contains(t, r.out, "shared service: created db")
	f.requireSettled("version=v1 color=blue")
	require.Equal(t, "stored", f.item(t, "a", "written-in-v1"))
	db := containerID(t, f.docker, dbName)

	l := startGetLoop(f.nginx.URL("/"), 4)
	r = f.deploy(nil, "VERSION=v2")
	time.Sleep(300 * time.Millisecond)
	res := l.stop()
	require.Equal(t, 0, r.code, r.out)
	t.Logf("during v1 → v2: %d requests, %d failed, versions %v", res.sent, len(res.failures), res.versions)
	require.Empty(t, res.failures, "requests failed during the deploy")
	require.Greater(t, res.versions["version=v2 color=green"], 0)
	require.Contains(t, r.out, "shared service db left alone")
	require.Contains(t, r.outputs["roles"], `"singletons":["scheduler"]`)
	f.requireServes("v2", "green")
	require.Equal(t, db, containerID(t, f.docker, dbName), "the database is the same container")
	require.Equal(t, "written-in-v1", f.item(t, "a", ""))

	r = f.deploy(map[string]string{"mode": "rollback"})
	require.Equal(t, 0, r.code, r.out)
	f.requireSettled("version=v1 color=blue")
	require.Equal(t, db, containerID(t, f.docker, dbName))
	require.Equal(t, "written-in-v1", f.item(t, "a", ""))
	require.Len(t, f.runningService(t, "blue", "scheduler"), 1, "blue's scheduler runs again")
	require.Empty(t, f.runningService(t, "green", "scheduler"))

	r = f.deploy(nil, "VERSION=v3", "MIGRATE_FAIL=1")
	pe := r.requireFailedIn(t, deploy.PhaseStart)
	require.ErrorIs(t, pe, deploy.ErrJobFailed)
	require.Contains(t, pe.Error(), "service migrate exited with code 1")
	require.Contains(t, r.out, `relation "items" already exists`, "the job's output is shown")
	f.requireServes("v1", "blue")
	require.Equal(t, db, containerID(t, f.docker, dbName))
	require.Equal(t, "written-in-v1", f.item(t, "a", ""))

	// The failed deploy put the kept green back: a rollback still finds it,
	// its finished migration not run again, its scheduler handed over.
	r = f.deploy(map[string]string{"mode": "rollback"})
	require.Equal(t, 0, r.code, r.out)
	f.requireSettled("version=v2 color=green")
	require.Equal(t, db, containerID(t, f.docker, dbName))
	require.Equal(t, "written-in-v1", f.item(t, "a", ""))
	require.Len(t, f.runningService(t, "green", "scheduler"), 1)
	require.Empty(t, f.runningService(t, "blue", "scheduler"))

	most, samples, errs := s.finish()
	require.Empty(t, errs)
	t.Logf("%d samples; most at once: %v", samples, most)
	require.Equal(t, 1, most["db"], "one database, never two")
	require.Equal(t, 1, most["scheduler"], "one scheduler, never two")
}

// runningService lists the running containers of service in a color.
func (f *fixture) runningService(t *testing.T, color, service string) []string {
	t.Helper()
	list, err := f.docker.ContainerList(context.Background(), container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.docker.compose.project="+f.project+"-"+color),
		filters.Arg("label", "com.docker.compose.service="+service))})
	require.NoError(t, err)
	var names []string
	for _, c := range list {
		names = append(names, c.Names[0])
	}
	return names
}

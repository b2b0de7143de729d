//go:build e2e

package compose

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

var (
	probeOnce sync.Once
	probeTag  string
	probeErr  error
)

// TestMain removes the probe image the integration tests built, once every
// test of the package is done with it.
func TestMain(m *testing.M) {
	code := m.Run()
	if probeTag != "" {
		if cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation()); err == nil {
			_, _ = cli.ImageRemove(context.Background(), probeTag, image.RemoveOptions{PruneChildren: true})
			_ = cli.Close()
		}
	}
	os.Exit(code)
}

// testImage returns the test app image with /probe added: FROM scratch has
// no shell or curl, and healthchecks need something to run.
func testImage(t *testing.T) string {
	t.Helper()
	cli := testenv.RequireDocker(t)
	app := testenv.AppImage(t)
	probeOnce.Do(func() { probeTag, probeErr = buildProbeImage(cli, app, testenv.RepoRoot(t)) })
	if probeErr != nil {
		t.Fatalf("failed to build the probe image: %v", probeErr)
	}
	return probeTag
}

func buildProbeImage(cli *client.Client, app, root string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return throwaway.BuildBinaryImage(ctx, cli, root, "./internal/compose/testdata/probe", "probe", "FROM "+app+"\nCOPY probe /probe\n", "bgtc-probeapp")
}

// newProjectName returns a project name no other test uses, with the
// bgtc- prefix that marks what these tests create.
func newProjectName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "bgtc-" + hex.EncodeToString(b)
}

// newEngine returns an Engine on the local daemon and, for project, a
// cleanup that takes the project down and removes its volumes.
func newEngine(t *testing.T, project string) (*Engine, *client.Client) {
	t.Helper()
	cli := testenv.RequireDocker(t)
	e := &Engine{Docker: cli}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		zero := time.Duration(0)
		if err := e.Down(ctx, project, &zero); err != nil {
			t.Logf("cleanup: Down %s: %v", project, err)
		}
		vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+project))})
		if err == nil {
			for _, v := range vols.Volumes {
				_ = cli.VolumeRemove(ctx, v.Name, true)
			}
		}
	})
	return e, cli
}

// writeProject writes files into a fresh project directory and returns it.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

//go:build e2e

package compose

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// v2Expectation is a project's v2-expected.json: what docker compose v2
// creates for a file docker-compose v1 cannot read, checked by hand.
type v2Expectation struct {
	Why   string `json:"why"`
	Start bool   `json:"start"`
	// Containers maps a service (service#n for later replicas) to fields
	// of its container's view and their expected values.
	Containers map[string]map[string]any `json:"containers"`
	// Files are files the container must hold (secrets, configs).
	Files []struct {
		Service, Path, Content, Mode string
		UID, GID                     *int
	} `json:"files"`
}

// TestConformanceV2Expectations runs every project under testdata/compose
// that has a v2-expected.json through Up (or, with start false, through
// the create calls only) and holds the result to that expectation.
func TestConformanceV2Expectations(t *testing.T) {
	t.Parallel()
	img := testenv.AppImage(t)
	cli := testenv.RequireDocker(t)
	root := filepath.Join(testenv.RepoRoot(t), "testdata", "compose")
	dirs := conformanceDirs(t, root, kindV2)
	if len(dirs) < 3 {
		t.Fatalf("%d projects have a v2-expected.json, want at least three", len(dirs))
	}
	for _, name := range dirs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var want v2Expectation
			data, err := os.ReadFile(filepath.Join(root, name, "v2-expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatalf("v2-expected.json: %v", err)
			}
			if !strings.Contains(want.Why, "docker compose v2") {
				t.Errorf("v2-expected.json must say why v1 cannot be the peer and what it was checked against")
			}
			dir := filepath.Join(t.TempDir(), name)
			if err := throwaway.CopyDir(filepath.Join(root, name), dir); err != nil {
				t.Fatal(err)
			}
			project := newProjectName(t) + "-" + name
			env := conformanceEnvironment(t, cli, img, project)
			t.Cleanup(func() { removeProject(cli, project) })
			p, err := Load(ctxTimeout(t, time.Minute), LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}, WorkingDir: dir, Environment: env})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			e := &Engine{Docker: cli}
			got := map[string]view{}
			if want.Start {
				ensureConformanceImages(t, cli, e, p)
				if _, err := e.Up(ctxTimeout(t, 2*time.Minute), p); err != nil {
					t.Fatalf("Up: %v", err)
				}
				got = inspectProject(t, cli, project).Containers
			} else {
				if err := Check(p); err != nil {
					t.Fatal(err)
				}
				specs, err := e.createSpecs(ctxTimeout(t, time.Minute), p)
				if err != nil {
					t.Fatal(err)
				}
				for svc, list := range specs {
					for _, spec := range list {
						got[containerKey(spec.Config.Labels)] = normalise(map[string]any{
							"Name": spec.Name, "Image": spec.Config.Image, "SecurityOpt": spec.Host.SecurityOpt,
							"DeviceRequests": spec.Host.DeviceRequests, "NetworkMode": string(spec.Host.NetworkMode),
						}, project)
						_ = svc
					}
				}
			}
			for svc, fields := range want.Containers {
				v, ok := got[svc]
				if !ok {
					t.Errorf("no container of service %s", svc)
					continue
				}
				for field, wantValue := range fields {
					have := strings.ReplaceAll(compact(v[field]), dir, "<dir>")
					if have != compact(wantValue) {
						t.Errorf("service %s: %s = %s, want %s", svc, field, have, compact(wantValue))
					}
				}
			}
			for _, f := range want.Files {
				hdr, content := readContainerFile(t, cli, project+"-"+f.Service+"-1", f.Path)
				if wantContent := strings.ReplaceAll(f.Content, "<project>", project); content != wantContent {
					t.Errorf("%s in %s holds %q, want %q", f.Path, f.Service, content, wantContent)
				}
				if f.Mode != "" && fmt.Sprintf("%04o", hdr.Mode&0o7777) != f.Mode {
					t.Errorf("%s in %s has mode %04o, want %s", f.Path, f.Service, hdr.Mode&0o7777, f.Mode)
				}
				if f.UID != nil && (hdr.Uid != *f.UID || hdr.Gid != *f.GID) {
					t.Errorf("%s in %s is owned by %d:%d, want %d:%d", f.Path, f.Service, hdr.Uid, hdr.Gid, *f.UID, *f.GID)
				}
			}
		})
	}
}

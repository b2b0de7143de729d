package compose

import (
	"archive/tar"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/registry"
)

// tarNames lists the entries of a context tar and the content of files.
func tarNames(t *testing.T, rc io.ReadCloser) (map[string]string, []string) {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := map[string]string{}
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%s is owned by %d:%d, want 0:0", hdr.Name, hdr.Uid, hdr.Gid)
		}
		names = append(names, hdr.Name)
		if hdr.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[hdr.Name] = string(b)
		}
		if hdr.Typeflag == tar.TypeSymlink {
			files[hdr.Name] = "-> " + hdr.Linkname
		}
	}
	sort.Strings(names)
	return files, names
}

func TestContextTarHonoursDockerignore(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{
		".dockerignore":        "# build output and secrets\nnode_modules\n*.log\n.env\nDockerfile\nlogs/\n!logs/keep.log\ndocs/**/*.md\n",
		"Dockerfile":           "FROM scratch\n",
		"main.go":              "package main",
		"app.log":              "noise",
		".env":                 "SECRET=1",
		"node_modules/x/a.js":  "x",
		"logs/old.log":         "old",
		"logs/keep.log":        "keep",
		"docs/a/b.md":          "doc",
		"docs/a/b.txt":         "txt",
		"src/pkg/lib.go":       "package pkg",
		"src/pkg/lib_test.log": "ignored by *.log? no: *.log matches the top level only",
	})
	if err := os.Symlink("main.go", filepath.Join(dir, "link.go")); err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	rc, err := contextTar(dir, "Dockerfile", nil, &sent)
	if err != nil {
		t.Fatal(err)
	}
	files, names := tarNames(t, rc)
	want := []string{".dockerignore", "Dockerfile", "docs/", "docs/a/", "docs/a/b.txt", "link.go", "logs/keep.log", "main.go", "src/", "src/pkg/", "src/pkg/lib.go", "src/pkg/lib_test.log"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("context holds\n  %s\nwant\n  %s", strings.Join(names, " "), strings.Join(want, " "))
	}
	if files["link.go"] != "-> main.go" {
		t.Errorf("link.go = %q, want a symbolic link to main.go", files["link.go"])
	}
	if sent.Load() == 0 {
		t.Error("no bytes counted")
	}
}

func TestContextTarAddsInlineDockerfile(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"app": "bin"})
	rc, err := contextTar(dir, inlineDockerfile, []byte("FROM scratch\nCOPY app /app\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := tarNames(t, rc)
	if files[inlineDockerfile] != "FROM scratch\nCOPY app /app\n" || files["app"] != "bin" {
		t.Errorf("context = %v", files)
	}
}

func TestDockerfileOf(t *testing.T) {
	t.Parallel()
	root := writeFiles(t, map[string]string{
		"app/Dockerfile":        "FROM scratch\n",
		"app/docker/Dockerfile": "FROM scratch\n",
		"shared/Dockerfile":     "FROM scratch\nCOPY . /\n",
	})
	ctx := filepath.Join(root, "app")
	for _, tc := range []struct {
		name             string
		build            types.BuildConfig
		wantName, inline string
		wantErr          string
	}{
		{"default", types.BuildConfig{Context: ctx}, "Dockerfile", "", ""},
		{"nested", types.BuildConfig{Context: ctx, Dockerfile: "docker/Dockerfile"}, "docker/Dockerfile", "", ""},
		{"outside the context", types.BuildConfig{Context: ctx, Dockerfile: "../shared/Dockerfile"}, inlineDockerfile, "FROM scratch\nCOPY . /\n", ""},
		{"absolute inside", types.BuildConfig{Context: ctx, Dockerfile: filepath.Join(ctx, "Dockerfile")}, "Dockerfile", "", ""},
		{"inline", types.BuildConfig{Context: ctx, DockerfileInline: "FROM scratch\n"}, inlineDockerfile, "FROM scratch\n", ""},
		{"missing", types.BuildConfig{Context: ctx, Dockerfile: "Dockerfile.prod"}, "", "", "cannot find the Dockerfile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.build
			name, inline, err := dockerfileOf(types.ServiceConfig{Name: "web", WorkloadSpec: types.WorkloadSpec{Build: &b}})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "service web") {
					t.Errorf("dockerfileOf = %v, want %q naming the service", err, tc.wantErr)
				}
				return
			}
			if err != nil || name != tc.wantName || string(inline) != tc.inline {
				t.Errorf("dockerfileOf = %q, %q, %v; want %q, %q", name, inline, err, tc.wantName, tc.inline)
			}
		})
	}
}

func TestBuildOptionsMapBuildKeys(t *testing.T) {
	t.Parallel()
	dir := writeFiles(t, map[string]string{"compose.yml": `services:
  web:
    build:
      context: .
      dockerfile: Dockerfile.prod
      args:
        VERSION: "1.2"
        FROM_ENV:
      target: runtime
      labels: {com.example.team: web}
      network: host
      extra_hosts: ["mirror.local:10.0.0.9"]
      shm_size: 128m
      cache_from: [example/web:cache]
      no_cache: true
      pull: true
      tags: [example/web:extra]
      ulimits: {nofile: 4096}
      platforms: [linux/amd64]
`})
	p := mustLoad(t, LoadOptions{ProjectName: "bo-green", Files: []string{filepath.Join(dir, "compose.yml")}, Environment: map[string]string{"FROM_ENV": "env"}})
	if err := Check(p); err != nil {
		t.Fatal(err)
	}
	TagBuilds(p, "20260101T000000Z-abcdef")
	s := p.Services["web"]
	eq(t, "tagged image", s.Image, "bo-green-web:20260101T000000Z-abcdef")
	if !generatedImage(p, s) {
		t.Error("the tagged image is not recognised as generated")
	}
	auth := base64.URLEncoding.EncodeToString(must(json.Marshal(registry.AuthConfig{Username: "u", Password: "p"})))
	opts, err := buildOptions(p, s, s.Image, Credentials{Registry: "ghcr.io", Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "tags", opts.Tags, []string{"bo-green-web:20260101T000000Z-abcdef", "example/web:extra"})
	eq(t, "version", string(opts.Version), "1")
	eq(t, "args", len(opts.BuildArgs), 2)
	eq(t, "arg VERSION", *opts.BuildArgs["VERSION"], "1.2")
	eq(t, "arg from env", *opts.BuildArgs["FROM_ENV"], "env")
	eq(t, "target", opts.Target, "runtime")
	eq(t, "labels", opts.Labels, map[string]string{"com.example.team": "web", LabelProject: "bo-green", LabelService: "web", LabelVersion: ComposeVersion, LabelImageBuilder: "classic"})
	eq(t, "network", opts.NetworkMode, "host")
	eq(t, "extra hosts", opts.ExtraHosts, []string{"mirror.local:10.0.0.9"})
	eq(t, "shm", opts.ShmSize, int64(128<<20))
	eq(t, "cache from", opts.CacheFrom, []string{"example/web:cache"})
	eq(t, "no cache", opts.NoCache, true)
	eq(t, "pull", opts.PullParent, true)
	eq(t, "platform", opts.Platform, "linux/amd64")
	eq(t, "ulimits", len(opts.Ulimits), 1)
	eq(t, "auth key", len(opts.AuthConfigs["ghcr.io"].Username), 1)

	withImage := types.ServiceConfig{Name: "api", ContainerSpec: types.ContainerSpec{Image: "example/api:1"}, WorkloadSpec: types.WorkloadSpec{Build: &types.BuildConfig{Context: dir}}}
	TagBuilds(&types.Project{Name: "x", Services: types.Services{"api": withImage}}, "t")
	if generatedImage(p, withImage) {
		t.Error("an image: of the user's is taken for a generated one")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// writeFiles writes files into a fresh directory and returns it, for the
// tests that need no Docker daemon.
func writeFiles(t *testing.T, files map[string]string) string {
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

//go:build e2e

package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/build"
	"github.com/bluegreen-action/bluegreen/internal/pull"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// recorder is a Progress that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) Infof(f string, a ...any) { r.add("info: " + fmt.Sprintf(f, a...)) }
func (r *recorder) Warnf(f string, a ...any) { r.add("warning: " + fmt.Sprintf(f, a...)) }
func (r *recorder) Stream(title string) io.WriteCloser {
	r.add("stream: " + title)
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		b, _ := io.ReadAll(pr)
		for _, l := range strings.Split(string(b), "\n") {
			r.add("  " + l)
		}
	}()
	return &recorderStream{pw, done}
}
func (r *recorder) add(l string) { r.mu.Lock(); r.lines = append(r.lines, l); r.mu.Unlock() }
func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

type recorderStream struct {
	*io.PipeWriter
	done chan struct{}
}

func (s *recorderStream) Close() error { err := s.PipeWriter.Close(); <-s.done; return err }

// removeImagesOf removes every image built for project, after the
// project's containers.
func removeImagesOf(cli *client.Client, project string) {
	removeProject(cli, project)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+project))})
	if err != nil {
		return
	}
	for _, img := range list {
		_, _ = cli.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	}
}

// TestBuildOnTheHost builds a two-stage Dockerfile with build args on the
// daemon, runs it, and builds again for a second deploy, which keeps the
// first deploy's image (retain-images decides when it goes).
func TestBuildOnTheHost(t *testing.T) {
	t.Parallel()
	app := testenv.AppImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	t.Cleanup(func() { removeImagesOf(cli, project) })
	rec := &recorder{}
	e.Progress = rec
	dir := writeProject(t, map[string]string{
		"compose.yml": `services:
  web:
    build:
      context: .
      args:
        VERSION: ${APP_VERSION}
        BASE: ${APP_IMAGE}
      labels: {com.example.built-by: test}
`,
		"Dockerfile": `ARG BASE
FROM scratch AS content
ARG VERSION
COPY content/${VERSION}.txt /content.txt

FROM ${BASE}
ARG VERSION
ENV VERSION=${VERSION}
COPY --from=content /content.txt /srv/content.txt
`,
		"content/v1.txt": "first",
		"content/v2.txt": "second",
		"secret.key":     "never in the image",
		".dockerignore":  "secret.key\n",
	})
	load := func(version, tag string) (*Engine, string) {
		p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}, Environment: map[string]string{"APP_VERSION": version, "APP_IMAGE": app}})
		if err != nil {
			t.Fatal(err)
		}
		TagBuilds(p, tag)
		if err := e.EnsureImages(ctxTimeout(t, 3*time.Minute), p, pull.Missing, Credentials{}); err != nil {
			t.Fatalf("EnsureImages %s: %v\n%s", version, err, rec.text())
		}
		cs, err := e.Up(ctxTimeout(t, time.Minute), p)
		if err != nil {
			t.Fatalf("Up %s: %v", version, err)
		}
		return e, cs[0].ID
	}
	_, id := load("v1", "d1")
	first := project + "-web:d1"
	info, err := cli.ImageInspect(ctxTimeout(t, time.Minute), first)
	if err != nil {
		t.Fatalf("no image %s: %v", first, err)
	}
	if !strings.Contains(strings.Join(info.Config.Env, " "), "VERSION=v1") || info.Config.Labels["com.example.built-by"] != "test" || info.Config.Labels[LabelImageBuilder] != "classic" {
		t.Errorf("image %s: env %v, labels %v", first, info.Config.Env, info.Config.Labels)
	}
	if _, content := readContainerFile(t, cli, id, "/srv/content.txt"); content != "first" {
		t.Errorf("/srv/content.txt = %q, want the v1 stage's file", content)
	}
	out := rec.text()
	for _, want := range []string{"stream: Build " + first + " (service web)", "Step 1/", "info: built " + first} {
		if !strings.Contains(out, want) {
			t.Errorf("progress lacks %q:\n%s", want, out)
		}
	}

	zero := time.Duration(0)
	if err := e.Down(ctxTimeout(t, time.Minute), project, &zero); err != nil {
		t.Fatal(err)
	}
	_, id = load("v2", "d2")
	if _, content := readContainerFile(t, cli, id, "/srv/content.txt"); content != "second" {
		t.Errorf("/srv/content.txt = %q, want the v2 stage's file", content)
	}
	if _, err := cli.ImageInspect(ctxTimeout(t, time.Minute), first); err != nil {
		t.Errorf("%s is gone after the second build: %v", first, err)
	}
	// .dockerignore kept the key out of the context: COPY of it fails.
	broken := writeProject(t, map[string]string{"compose.yml": "services:\n  web:\n    build: .\n", "Dockerfile": "FROM scratch\nCOPY secret.key /\n", "secret.key": "x", ".dockerignore": "secret.key\n"})
	p, err := Load(context.Background(), LoadOptions{ProjectName: project + "-ignored", Files: []string{filepath.Join(broken, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeImagesOf(cli, project+"-ignored") })
	err = e.EnsureImages(ctxTimeout(t, time.Minute), p, pull.Missing, Credentials{})
	if !errors.Is(err, ErrBuildFailed) || !strings.Contains(err.Error(), "secret.key") || !strings.Contains(err.Error(), "service web") {
		t.Errorf("a build that COPYs an ignored file = %v, want ErrBuildFailed naming the file and the service", err)
	}
}

func TestBuildPolicies(t *testing.T) {
	t.Parallel()
	app := testenv.AppImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	t.Cleanup(func() { removeImagesOf(cli, project) })
	named := project + "/web:1"
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), named, image.RemoveOptions{Force: true}) })
	dir := writeProject(t, map[string]string{
		"compose.yml": fmt.Sprintf("services:\n  web:\n    image: %s\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM %s\n        LABEL built=inline\n  worker:\n    image: %s\n", named, app, named),
	})
	load := func(file string) *types.Project {
		p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, file)}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// image: missing and not pullable: built from build:, and the worker
	// that shares the image is not pulled.
	rec := &recorder{}
	e.Progress = rec
	if err := e.EnsureImages(ctxTimeout(t, 2*time.Minute), load("compose.yml"), pull.Missing, Credentials{}); err != nil {
		t.Fatalf("EnsureImages: %v\n%s", err, rec.text())
	}
	info, err := cli.ImageInspect(ctxTimeout(t, time.Minute), named)
	if err != nil || info.Config.Labels["built"] != "inline" {
		t.Fatalf("image %s: %v %v", named, err, info.Config)
	}
	if !strings.Contains(rec.text(), "building it from build:") {
		t.Errorf("the failed pull was not reported:\n%s", rec.text())
	}
	// Present now: auto neither pulls nor builds.
	rec2 := &recorder{}
	e.Progress = rec2
	if err := e.EnsureImages(ctxTimeout(t, time.Minute), load("compose.yml"), pull.Missing, Credentials{}); err != nil || strings.Contains(rec2.text(), "stream:") {
		t.Errorf("second EnsureImages = %v, output:\n%s", err, rec2.text())
	}
	// always builds even so.
	e.Build = build.Always
	if err := e.EnsureImages(ctxTimeout(t, time.Minute), load("compose.yml"), pull.Missing, Credentials{}); err != nil || !strings.Contains(rec2.text(), "stream: Build "+named) {
		t.Errorf("EnsureImages with build always = %v, output:\n%s", err, rec2.text())
	}
	// never refuses a service that only build: can provide.
	e.Build = build.Never
	only := writeProject(t, map[string]string{"compose.yml": "services:\n  web:\n    build: .\n", "Dockerfile": "FROM scratch\n"})
	p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: []string{filepath.Join(only, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	TagBuilds(p, "d1")
	if err := e.EnsureImages(ctxTimeout(t, time.Minute), p, pull.Missing, Credentials{}); !errors.Is(err, ErrImageMissing) || !strings.Contains(err.Error(), "build input is never") {
		t.Errorf("EnsureImages with build never = %v, want ErrImageMissing explaining the build input", err)
	}
	// A BuildKit-only Dockerfile fails with the hint.
	e.Build = build.Auto
	bk := writeProject(t, map[string]string{"compose.yml": "services:\n  web:\n    build: .\n", "Dockerfile": "FROM scratch\nRUN --mount=type=cache,target=/root/.cache true\n"})
	p, err = Load(context.Background(), LoadOptions{ProjectName: project, Files: []string{filepath.Join(bk, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	TagBuilds(p, "d2")
	err = e.EnsureImages(ctxTimeout(t, time.Minute), p, pull.Missing, Credentials{})
	if !errors.Is(err, ErrBuildFailed) || !strings.Contains(err.Error(), "BuildKit feature") {
		t.Errorf("EnsureImages of a RUN --mount Dockerfile = %v, want ErrBuildFailed with the BuildKit hint", err)
	}
}

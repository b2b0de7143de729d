//go:build e2e

package compose

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// TestUpOneHostKeys runs the keys issue 10 maps on the real daemon: the
// containers start, and each setting arrives where docker compose puts it.
func TestUpOneHostKeys(t *testing.T) {
	t.Parallel()
	img := testenv.AppImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	// A container outside the project, on a network the web service joins,
	// for external_links.
	shared, legacy := project+"-shared", project+"-legacy-cache"
	ctx := ctxTimeout(t, 2*time.Minute)
	if _, err := cli.NetworkCreate(ctx, shared, network.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), shared) })
	resp, err := cli.ContainerCreate(ctx, &container.Config{Image: img, Env: []string{"MODE=worker"}}, &container.HostConfig{NetworkMode: container.NetworkMode(shared)}, nil, nil, legacy)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true}) })
	if err := cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := writeProject(t, map[string]string{
		"compose.yml": fmt.Sprintf(`
services:
  db:
    image: %[1]s
    environment: {MODE: worker}
    ipc: shareable
    volumes: [data:/data]
  web:
    image: %[1]s
    environment: {MODE: worker}
    security_opt: [no-new-privileges:true, "seccomp=./seccomp.json"]
    links: ["db:database"]
    external_links: ["%[2]s:cache"]
    networks: [default, shared]
    volumes_from: ["db:ro"]
    ipc: service:db
    secrets:
      - token
      - source: api_key
        uid: "1000"
        gid: "1001"
        mode: 0400
    configs:
      - source: conf
        target: /etc/app.conf
  sidecar:
    image: %[1]s
    environment: {MODE: worker}
    network_mode: service:web
  worker:
    image: %[1]s
    environment: {MODE: worker}
    deploy:
      replicas: 3
secrets:
  token:
    file: ./token
  api_key:
    environment: API_KEY
configs:
  conf:
    content: "x=1\n"
volumes:
  data:
networks:
  shared:
    name: %[3]s
    external: true
`, img, legacy, shared),
		"seccomp.json": `{"defaultAction": "SCMP_ACT_ALLOW"}`,
		"token":        "file-token",
	})
	p, err := Load(ctxTimeout(t, time.Minute), LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}, Environment: map[string]string{"API_KEY": "env-key"}})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := e.Up(ctx, p)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	byName := map[string]Container{}
	for _, c := range cs {
		if !c.Running {
			t.Errorf("container %s is %s", c.Name, c.State)
		}
		byName[c.Name] = c
	}
	for _, n := range []string{"db-1", "web-1", "sidecar-1", "worker-1", "worker-2", "worker-3"} {
		if _, ok := byName[project+"-"+n]; !ok {
			t.Errorf("no container %s-%s in %v", project, n, cs)
		}
	}
	db, web := byName[project+"-db-1"], byName[project+"-web-1"]
	info, err := cli.ContainerInspect(ctx, web.ID)
	if err != nil {
		t.Fatal(err)
	}
	h := info.HostConfig
	eq(t, "security opt", h.SecurityOpt, []string{"no-new-privileges:true", `seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`})
	eq(t, "volumes_from", h.VolumesFrom, []string{db.ID + ":ro"})
	eq(t, "ipc", string(h.IpcMode), "container:"+db.ID)
	side, err := cli.ContainerInspect(ctx, byName[project+"-sidecar-1"].ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "sidecar network mode", string(side.HostConfig.NetworkMode), "container:"+web.ID)
	ep := info.NetworkSettings.Networks[project+"_default"]
	if ep == nil || len(ep.Links) == 0 || !strings.Contains(strings.Join(ep.Links, ","), "database") || !strings.Contains(strings.Join(ep.Links, ","), legacy+":cache") {
		t.Errorf("web's endpoint links = %+v, want the database alias and the external link", ep)
	}

	// An external link to a container the service shares no network with
	// would resolve to nothing: Up refuses it before creating anything.
	lonely := loadYAML(t, fmt.Sprintf("services:\n  web:\n    image: %s\n    external_links: [%s]\n", img, legacy))
	lonely.Name = project + "-lonely"
	if _, err := e.Up(ctx, lonely); !errors.Is(err, ErrExternalLink) || !strings.Contains(err.Error(), "share no network") {
		t.Errorf("Up with an external link across networks = %v, want ErrExternalLink", err)
	}
	missing := loadYAML(t, fmt.Sprintf("services:\n  web:\n    image: %s\n    external_links: [%s-nope]\n", img, project))
	missing.Name = project + "-missing"
	if _, err := e.Up(ctx, missing); !errors.Is(err, ErrExternalLink) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Up with an external link to nothing = %v, want ErrExternalLink", err)
	}
	for _, f := range []struct {
		path, content string
		mode          int64
		uid, gid      int
	}{
		{"/run/secrets/token", "file-token", -1, -1, -1},
		{"/run/secrets/api_key", "env-key", 0o400, 1000, 1001},
		{"/etc/app.conf", "x=1\n", 0o444, 0, 0},
	} {
		hdr, content := readContainerFile(t, cli, web.ID, f.path)
		if content != f.content {
			t.Errorf("%s holds %q, want %q", f.path, content, f.content)
		}
		if f.mode >= 0 && (hdr.Mode&0o7777 != f.mode || hdr.Uid != f.uid || hdr.Gid != f.gid) {
			t.Errorf("%s is mode %o owned by %d:%d, want %o %d:%d", f.path, hdr.Mode&0o7777, hdr.Uid, hdr.Gid, f.mode, f.uid, f.gid)
		}
	}
	mounted := false
	for _, m := range info.Mounts {
		if m.Destination == "/run/secrets/token" && !m.RW && m.Source == filepath.Join(dir, "token") {
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("the file secret is not a read-only bind of %s: %+v", filepath.Join(dir, "token"), info.Mounts)
	}
}

func readContainerFile(t *testing.T, cli *client.Client, id, path string) (*tar.Header, string) {
	t.Helper()
	rc, _, err := cli.CopyFromContainer(ctxTimeout(t, time.Minute), id, path)
	if err != nil {
		t.Fatalf("failed to read %s: %v", path, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(tr)
	return hdr, string(b)
}

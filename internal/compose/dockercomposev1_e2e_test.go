//go:build e2e

package compose

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// requireDockerComposeV1 returns the docker-compose binary, or skips (fails
// in CI).
func requireDockerComposeV1(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("docker-compose is required in CI: %v", err)
		}
		t.Skipf("docker-compose not installed: %v", err)
	}
	return bin
}

func runCompose(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COMPOSE_INTERACTIVE_NO_CLI=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// seedFile is the seed's compose file shape: version 3, container_name,
// a published port and an env_file.
func seedFile(image, container string, port int) string {
	return fmt.Sprintf(`version: '3'

services:
  spring-backend:
    container_name: %s
    image: %s
    ports:
      - "127.0.0.1:%d:8080"
    env_file:
      - .env
`, container, image, port)
}

// TestAdoptDockerComposeV1Project is the seed's situation: a color started
// by docker-compose v1. List must find it and Down must remove it.
func TestAdoptDockerComposeV1Project(t *testing.T) {
	t.Parallel()
	bin := requireDockerComposeV1(t)
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	port := testenv.FreePort(t)
	dir := writeProject(t, map[string]string{
		"docker-compose.blue.yml": seedFile(img, project+"-blue", port),
		".env":                    "VERSION=seed\n",
	})
	runCompose(t, bin, dir, "-p", project, "-f", "docker-compose.blue.yml", "up", "-d")
	ctx := ctxTimeout(t, time.Minute)

	list, err := e.List(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Service != "spring-backend" || list[0].Name != project+"-blue" || !list[0].Running {
		t.Fatalf("List = %+v, want the running spring-backend container", list)
	}
	eq(t, "published ports", list[0].PublishedPorts, []uint16{uint16(port)})
	if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); !strings.Contains(body, "version=seed") {
		t.Errorf("GET = %q", body)
	}
	if err := e.Down(ctx, project, nil); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if list, err := e.List(ctx, project); err != nil || len(list) != 0 {
		t.Errorf("after Down List = %+v, %v", list, err)
	}
	if _, err := cli.NetworkInspect(ctx, project+"_default", network.InspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("docker-compose's network survived Down: %v", err)
	}
}

// TestDockerComposeV1ManagesOurProject is the other direction: what Up
// created, the user's docker-compose ps and down still see and remove.
func TestDockerComposeV1ManagesOurProject(t *testing.T) {
	t.Parallel()
	bin := requireDockerComposeV1(t)
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	port := testenv.FreePort(t)
	dir := writeProject(t, map[string]string{
		"compose.yml": seedFile(img, project+"-green", port),
		".env":        "VERSION=ours\n",
	})
	cs := upProject(t, e, project, dir, nil)
	if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); !strings.Contains(body, "version=ours") {
		t.Errorf("GET = %q", body)
	}
	ps := runCompose(t, bin, dir, "-p", project, "-f", "compose.yml", "ps", "-q")
	if !strings.Contains(ps, cs[0].ID) {
		t.Errorf("docker-compose ps -q = %q, want %s", ps, cs[0].ID)
	}
	runCompose(t, bin, dir, "-p", project, "-f", "compose.yml", "down")
	ctx := ctxTimeout(t, time.Minute)
	if list, err := e.List(ctx, project); err != nil || len(list) != 0 {
		t.Errorf("after docker-compose down List = %+v, %v", list, err)
	}
	if _, err := cli.NetworkInspect(ctx, project+"_default", network.InspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("network survived docker-compose down: %v", err)
	}
}

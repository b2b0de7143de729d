//go:build e2e

package compose

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// portProject is a one-service project publishing port on 127.0.0.1.
func portProject(img string, port int) string {
	return fmt.Sprintf("services:\n  web:\n    image: %s\n    ports:\n      - \"127.0.0.1:%d:8080\"\n", img, port)
}

// TestUpNamesContainerHoldingPort: a host port another project's container
// publishes fails Up before anything is created, naming that container.
func TestUpNamesContainerHoldingPort(t *testing.T) {
	t.Parallel()
	img := testenv.AppImage(t)
	port := testenv.FreePort(t)
	holder := newProjectName(t)
	e, _ := newEngine(t, holder)
	upProject(t, e, holder, writeProject(t, map[string]string{"compose.yml": portProject(img, port)}), nil)

	project := newProjectName(t)
	e2, _ := newEngine(t, project)
	p, err := Load(ctxTimeout(t, time.Minute), LoadOptions{ProjectName: project, Files: []string{writeProject(t, map[string]string{"compose.yml": portProject(img, port)}) + "/compose.yml"}})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := e2.Up(ctxTimeout(t, time.Minute), p)
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("Up = %v, want ErrPortInUse", err)
	}
	t.Logf("Up: %v", err)
	for _, want := range []string{
		fmt.Sprintf("127.0.0.1:%d/tcp", port),
		fmt.Sprintf("container %s-web-1 (compose project %s, service web)", holder, holder),
		"docker stop " + holder + "-web-1",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if len(cs) != 0 {
		t.Errorf("Up created %d containers before failing; want none", len(cs))
	}
	if list, _ := e2.List(ctxTimeout(t, time.Minute), project); len(list) != 0 {
		t.Errorf("containers left after the failed Up: %+v", list)
	}
}

// TestUpNamesHostProcessHoldingPort: a host port a process on the host
// listens on fails the start, saying so and how to find the process.
func TestUpNamesHostProcessHoldingPort(t *testing.T) {
	t.Parallel()
	img := testenv.AppImage(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	project := newProjectName(t)
	e, _ := newEngine(t, project)
	p, err := Load(ctxTimeout(t, time.Minute), LoadOptions{ProjectName: project, Files: []string{writeProject(t, map[string]string{"compose.yml": portProject(img, port)}) + "/compose.yml"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Up(ctxTimeout(t, time.Minute), p)
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("Up = %v, want ErrPortInUse", err)
	}
	t.Logf("Up: %v", err)
	for _, want := range []string{
		fmt.Sprintf("127.0.0.1:%d/tcp", port),
		"a process on the host (not a container)",
		fmt.Sprintf("ss -ltnp 'sport = :%d'", port),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

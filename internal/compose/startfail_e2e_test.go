//go:build e2e

package compose

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// TestUpNamesOutgoingConnectionHoldingPort publishes a host port that an
// outgoing connection of this process holds (its local port, from the
// ephemeral range): the error says so, instead of blaming a listener.
func TestUpNamesOutgoingConnectionHoldingPort(t *testing.T) {
	t.Parallel()
	img := testenv.AppImage(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.TCPAddr).Port
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
	// The connection named is one holding the port: ours, or another
	// that used the same local port a moment before and lingers in
	// TIME_WAIT (other tests make connections on this host meanwhile).
	for _, want := range []string{"an outgoing connection on the host holds, not a listening process", fmt.Sprintf("(127.0.0.1:%d -> 127.0.0.1:", port), "ephemeral port range"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestDownAfterStartFailure fails a start and takes the project down: the
// containers that never started go with the rest.
func TestDownAfterStartFailure(t *testing.T) {
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
	dir := writeProject(t, map[string]string{"compose.yml": fmt.Sprintf(`services:
  web:
    image: %[1]s
    ports: ["127.0.0.1:%[2]d:8080"]
  worker:
    image: %[1]s
    environment: {MODE: worker}
    depends_on: [web]
    deploy: {replicas: 2}
  cache:
    image: %[1]s
    environment: {MODE: worker}
`, img, port)})
	p, err := Load(ctxTimeout(t, time.Minute), LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := e.Up(ctxTimeout(t, time.Minute), p)
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("Up = %v, want ErrPortInUse", err)
	}
	states := map[string]string{}
	for _, c := range cs {
		states[c.Name] = c.State
	}
	if len(cs) != 4 || states[project+"-worker-1"] != "created" || states[project+"-cache-1"] != "running" {
		t.Errorf("Up returned %v, want all 4 containers, the workers created but never started", states)
	}
	zero := time.Duration(0)
	if err := e.Down(ctxTimeout(t, time.Minute), project, &zero); err != nil {
		t.Fatal(err)
	}
	left, err := e.List(ctxTimeout(t, time.Minute), project)
	if err != nil || len(left) != 0 {
		t.Errorf("after Down: %v %v, want nothing left", left, err)
	}
}

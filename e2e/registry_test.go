//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// privateRegistry is a real Docker registry (distribution v3, built by
// scripts/setup.sh from the Go module proxy) with htpasswd auth, listening
// on 127.0.0.1, which the Docker daemon treats as an insecure registry and
// so reaches over plain HTTP.
type privateRegistry struct {
	addr     string
	user     string
	password string
	mu       sync.Mutex
	log      strings.Builder
}

func (r *privateRegistry) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.Write(p)
}

func (r *privateRegistry) Log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

// lookTool finds a tool in PATH or $(go env GOPATH)/bin, or skips (fails
// under CI).
func lookTool(t *testing.T, name, hint string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if testenv.InCI() {
		t.Fatalf("%s is required in CI (CI=true) but missing; %s", name, hint)
	}
	t.Skipf("skipping: %s is missing; %s", name, hint)
	return ""
}

func startRegistry(t *testing.T) *privateRegistry {
	t.Helper()
	bin := lookTool(t, "registry", "run scripts/setup.sh (it builds distribution's registry)")
	htpasswd := lookTool(t, "htpasswd", "apt-get install apache2-utils")
	dir := t.TempDir()
	r := &privateRegistry{user: "deployer", password: "pw-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	out, err := exec.Command(htpasswd, "-Bbn", r.user, r.password).Output()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "htpasswd"), out, 0o600))
	r.addr = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	conf := fmt.Sprintf(`version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: %s/data
  delete:
    enabled: true
http:
  addr: %s
auth:
  htpasswd:
    realm: bluegreen-e2e
    path: %s/htpasswd
`, dir, r.addr, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.yml"), []byte(conf), 0o644))
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = r, r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", r.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 50*time.Millisecond, "the registry did not listen: %s", r.Log())
	return r
}

func (r *privateRegistry) auth(t *testing.T, password string) string {
	t.Helper()
	a, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: r.user, Password: password, ServerAddress: r.addr})
	require.NoError(t, err)
	return a
}

// push tags the app image into the registry, pushes it with the
// credentials and removes the local tag, so a deploy has to pull it.
func (r *privateRegistry) push(t *testing.T, src, repo string) string {
	t.Helper()
	docker := testenv.RequireDocker(t)
	ctx := context.Background()
	ref := r.addr + "/" + repo
	require.NoError(t, docker.ImageTag(ctx, src, ref))
	rc, err := docker.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: r.auth(t, r.password)})
	require.NoError(t, err)
	body, _ := io.ReadAll(rc)
	rc.Close()
	require.NotContains(t, string(body), "errorDetail", string(body))
	_, err = docker.ImageRemove(ctx, ref, image.RemoveOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = docker.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true}) })
	return ref
}

// TestPrivateRegistryPull deploys an image that exists only in a private
// registry: the registry, registry-username and registry-password inputs
// reach the daemon as X-Registry-Auth and the pull succeeds; a wrong
// password fails the deploy before anything starts, without the password
// in the log, and nginx keeps serving the previous color.
func TestPrivateRegistryPull(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	reg := startRegistry(t)
	ref := reg.push(t, f.image, "bluegreen-e2e/app:"+strings.ToLower(testenv.UniqueName("v")))

	inputs := map[string]string{
		"image":             ref,
		"pull":              "always",
		"registry":          reg.addr,
		"registry-username": reg.user,
		"registry-password": reg.password,
	}
	tag := ref[strings.LastIndex(ref, ":")+1:]
	pulledAs := func(since int) bool {
		for _, line := range strings.Split(reg.Log()[since:], "\n") {
			if strings.Contains(line, `msg="authorized request"`) && strings.Contains(line, "auth.user.name="+reg.user) && strings.Contains(line, "/manifests/"+tag) {
				return true
			}
		}
		return false
	}
	mark := len(reg.Log())
	r := f.deploy(inputs, "VERSION=v1", "GITHUB_ACTIONS=true")
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "::add-mask::"+reg.password)
	require.Equal(t, strings.Count(r.out, "::add-mask::"+reg.password), strings.Count(r.out, reg.password), "the password appears only in ::add-mask::")
	f.requireServes("v1", "blue")
	require.Equal(t, ref, r.outputs["image"])
	require.True(t, pulledAs(mark), "the registry saw the deploy fetch the manifest as %s", reg.user)

	inputs["registry-password"] = "wrong-" + reg.password
	mark = len(reg.Log())
	r = f.deploy(inputs, "VERSION=v2", "GITHUB_ACTIONS=true")
	require.False(t, pulledAs(mark), "a wrong password is refused")
	r.requireFailedIn(t, deploy.PhaseStart)
	require.Equal(t, strings.Count(r.out, "::add-mask::"+inputs["registry-password"]), strings.Count(r.out, inputs["registry-password"]), "the wrong password appears only in ::add-mask::")
	require.Empty(t, f.all("green"), "nothing of the new color was started")
	f.requireServes("v1", "blue")
}

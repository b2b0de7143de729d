//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"

	"github.com/stretchr/testify/require"
)

// TestThreeVersions deploys v1, v2, v3: blue, green, blue. Each is served
// through nginx and the old color is gone afterwards.
func TestThreeVersions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)

	steps := []struct{ version, color, previous string }{
		{"v1", "blue", ""},
		{"v2", "green", "blue"},
		{"v3", "blue", "green"},
	}
	for _, s := range steps {
		r := f.deploy(nil, "VERSION="+s.version)
		require.Equal(t, 0, r.code, r.out)
		f.requireServes(s.version, s.color)
		require.Equal(t, s.color, r.outputs["active-color"])
		require.Equal(t, s.previous, r.outputs["previous-color"])
		port := f.bluePort
		if s.color == "green" {
			port = f.greenPort
		}
		require.Equal(t, strings.TrimPrefix(strings.TrimSpace(r.outputs["active-url"]), "http://127.0.0.1:"), itoa(port))
		require.Equal(t, itoa(port), r.outputs["active-port"])
		require.Equal(t, f.image, r.outputs["image"])
		require.Equal(t, "false", r.outputs["rolled-back"])
		require.Len(t, f.running(s.color), 1)
		other := map[string]string{"blue": "green", "green": "blue"}[s.color]
		require.Empty(t, f.running(other), "the old color is stopped")
		if s.previous != "" {
			require.NotEmpty(t, f.all(other), "keep-previous (the default) keeps it for mode: rollback")
		}
		require.Contains(t, f.include(), "color="+s.color)
		t.Logf("deploy of %s took %s", s.version, r.took)
	}
}

// TestFailedHealthKeepsPrevious: a version that never gets healthy leaves
// the previous one serving, the include untouched and the new color gone.
func TestFailedHealthKeepsPrevious(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.deploy(nil, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	before := f.include()

	// A start interval equal to the interval: the budget of 5 × interval
	// is then 5 probes.
	r = f.deploy(map[string]string{"health-retries": "5", "health-start-interval": f.inputs["health-interval"]}, "VERSION=v2", "HEALTH_STATUS=500")
	r.requireFailedIn(t, deploy.PhaseHealth)
	require.Contains(t, r.out, "did not answer with status 200 after 5 attempts")
	require.Contains(t, r.out, "HTTP 500")
	require.Contains(t, r.out, "nginx still serves blue")
	require.Equal(t, before, f.include(), "include untouched")
	require.Empty(t, f.all("green"), "the failed color is removed")
	f.requireServes("v1", "blue")
	require.Equal(t, "blue", r.outputs["active-color"])

	r = f.deploy(nil, "VERSION=v3")
	require.Equal(t, 0, r.code, r.out)
	f.requireServes("v3", "green")
}

// TestExitAtStartFailsFast: a container that exits during the health wait
// fails the deploy within 2 s of its exit, with its exit code and logs.
func TestExitAtStartFailsFast(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)

	// The app never gets healthy and exits 1 s after start; with 15 retries
	// 2 s apart the wait would take 30 s if the exit were not noticed.
	r := f.deploy(map[string]string{"health-interval": "2s", "health-retries": "15"},
		"VERSION=v2", "READY_AFTER=1h", "EXIT_AFTER=1s")
	r.requireFailedIn(t, deploy.PhaseHealth)
	require.Contains(t, r.out, "exited with code 3")
	require.Contains(t, r.out, "crashing with exit code 3", "the container's last log lines are shown")
	// The app exits 1 s after it starts, and the health wait begins once it
	// has started: the wait must end within 2 s of the exit.
	wait, ok := r.phase(deploy.PhaseHealth)
	require.True(t, ok, "no health phase in %v", r.result.Phases)
	require.Less(t, wait.Duration, 1*time.Second+2*time.Second, "the health wait ended within 2 s of the exit")
	f.requireServes("v1", "blue")
	require.Empty(t, f.all("green"))
}

// TestBrokenTemplateRestoresInclude: a template that breaks nginx -t
// leaves nginx on the old color with the old include restored byte for byte.
func TestBrokenTemplateRestoresInclude(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.Equal(t, 0, f.deploy(nil, "VERSION=v1").code)
	before := f.include()

	r := f.deploy(map[string]string{"nginx-include-template": "set $service_url {{.URL}}; this_is_not_a_directive on;"}, "VERSION=v2")
	r.requireFailedIn(t, deploy.PhaseSwitch)
	require.Contains(t, r.out, "unknown directive")
	require.Equal(t, before, f.include(), "old include restored byte for byte")
	f.requireServes("v1", "blue")
	require.Empty(t, f.all("green"))
	f.requireSound("blue")
}

// TestSeedComposeFiles deploys the seed's own two files (container_name,
// env_file) unchanged, twice.
func TestSeedComposeFiles(t *testing.T) {
	t.Parallel()
	blue := `version: '3'

services:
  spring-backend:
    container_name: %PROJECT%-blue
    image: %IMAGE%
    ports:
      - "%BLUE_PORT%:8080"
    env_file:
      - .env
`
	green := strings.NewReplacer("-blue", "-green", "%BLUE_PORT%", "%GREEN_PORT%").Replace(blue)
	f := newFixture(t, map[string]string{
		"docker-compose.blue.yml":  blue,
		"docker-compose.green.yml": green,
		".env":                     "VERSION=seed\nHEALTH_PATH=/api/health\n",
	})
	in := map[string]string{"blue-compose-file": "docker-compose.blue.yml", "green-compose-file": "docker-compose.green.yml", "health-path": "/api/health"}
	r := f.deploy(in)
	require.Equal(t, 0, r.code, r.out)
	f.requireServes("seed", "")
	require.Equal(t, []string{f.project + "-blue"}, f.running("blue"))
	r = f.deploy(in)
	require.Equal(t, 0, r.code, r.out)
	require.Equal(t, []string{f.project + "-green"}, f.running("green"))
	require.Empty(t, f.running("blue"))
}

// TestBadInputsTouchNothing: invalid inputs are all listed, with exit code
// 2, before anything is started or written.
func TestBadInputsTouchNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	before := f.include()
	r := f.deploy(map[string]string{
		"blue-port":       "9000",
		"green-port":      "9000",
		"health-interval": "soon",
		"compose-file":    "nope.yml",
	})
	require.Equal(t, 2, r.code, r.out)
	for _, want := range []string{"blue-port and green-port are both 9000", `health-interval "soon"`, `"nope.yml" does not exist`} {
		require.Contains(t, r.out, want)
	}
	require.Equal(t, before, f.include())
	require.Empty(t, f.all("blue"))

	// The include template is parsed by the deploy's preflight, with the
	// compose files, before anything is touched.
	r = f.deploy(map[string]string{"nginx-include-template": "{{.Nope"})
	require.Equal(t, 2, r.code, r.out)
	require.Contains(t, r.out, "nginx-include-template")
	require.Equal(t, before, f.include())
	require.Empty(t, f.all("blue"))
}

// TestBinaryReadsRunnerEnvironment runs the built binary exactly as the
// runner would: INPUT_* variables with hyphens, outputs to GITHUB_OUTPUT.
func TestBinaryReadsRunnerEnvironment(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	bin := binary(t)
	out := filepath.Join(t.TempDir(), "out")
	require.NoError(t, os.WriteFile(out, nil, 0o644)) // the runner creates it; the action only appends
	cmd := exec.Command(bin)
	cmd.Dir = f.dir
	cmd.Env = throwaway.Environ(f.inputs, nil, "APP_IMAGE="+f.image, "VERSION=bin", "GITHUB_OUTPUT="+out)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	f.requireServes("bin", "blue")
	require.Equal(t, "blue", readOutputs(t, out)["active-color"])

	// Without GITHUB_OUTPUT the outputs are printed as name=value lines.
	cmd = exec.Command(bin)
	cmd.Dir = f.dir
	cmd.Env = throwaway.Environ(f.inputs, nil, "APP_IMAGE="+f.image, "VERSION=bin2")
	b, err = cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	require.Contains(t, string(b), "\nactive-color=green\n")
	require.Contains(t, string(b), "\nprevious-color=blue\n")
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestFrontDoorConfirmation: after the reload the deploy polls nginx's
// front door until it answers with the new deploy's marker. The front door
// is found in nginx's own config, or given as verify-url; a verify-url that
// never shows the new deploy fails the switch and restores the include.
func TestFrontDoorConfirmation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := f.deploy(nil, "VERSION=v1")
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "front door http://127.0.0.1:"+itoa(f.nginx.Port)+"/.well-known/bluegreen answers from blue")
	code, body, err := f.get("/.well-known/bluegreen")
	require.NoError(t, err)
	require.Equal(t, 200, code)
	require.Equal(t, "color=blue deploy="+r.outputs["deploy-id"], body)

	r = f.deploy(map[string]string{"verify-url": f.nginx.URL("")}, "VERSION=v2")
	require.Equal(t, 0, r.code, r.out)
	require.Contains(t, r.out, "answers from green")

	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "some other server") }))
	defer elsewhere.Close()
	before := f.include()
	r = f.deploy(map[string]string{"verify-url": elsewhere.URL + "/health"}, "VERSION=v3")
	r.requireFailedIn(t, deploy.PhaseSwitch)
	require.Contains(t, r.out, "the front door did not show the new deploy")
	require.Contains(t, r.out, "some other server")
	require.Equal(t, before, f.include(), "the previous include is back")
	f.requireServes("v2", "green")
	require.Empty(t, f.running("blue"), "the new blue is removed; only the kept v1 copy is back, stopped")
}

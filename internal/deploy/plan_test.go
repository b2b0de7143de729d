package deploy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// file writes a compose file into the harness's directory; {BLUE} and
// {GREEN} in it stand for the colors' ports.
func (h *harness) file(name, text string) string {
	h.t.Helper()
	text = strings.NewReplacer("{BLUE}", strconv.Itoa(h.apps[color.Blue].port), "{GREEN}", strconv.Itoa(h.apps[color.Green].port)).Replace(text)
	require.NoError(h.t, os.WriteFile(filepath.Join(h.dir, name), []byte(text), 0o644))
	return name
}

// TestDockerHealthcheckIsWaitedFor: a traffic service whose compose file
// defines a Docker healthcheck must also be healthy by Docker's account
// before the switch; NONE, disable: true or none at all leave it to the
// HTTP check.
func TestDockerHealthcheckIsWaitedFor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, healthcheck string
		waited            bool
	}{
		{"a test", `test: ["CMD", "/app", "-check"]`, true},
		{"a shell test", `test: "/app -check"`, true},
		{"NONE", `test: ["NONE"]`, false},
		{"disabled", `disable: true`, false},
		{"only an interval", `interval: 5s`, false},
		{"none", ``, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			hc := ""
			if tt.healthcheck != "" {
				hc = "\n    healthcheck:\n      " + tt.healthcheck
			}
			h.inputs["compose-file"] = h.file("hc.yml", "services:\n  web:\n    image: app:v1\n    ports: [\"${BLUEGREEN_PORT}:8080\"]"+hc+"\n")
			// The container shows no health when created, then Docker's
			// healthcheck says unhealthy: only a wait for it notices.
			h.eng.Hook = func(_ context.Context, m, a string) error {
				if m == "Inspect" && a == "app-blue_web" {
					h.eng.SetHealth("app-blue", "unhealthy")
				}
				return nil
			}
			_, err := h.run(context.Background(), nil)
			if tt.waited {
				require.ErrorIs(t, err, deploy.ErrUnhealthy)
				assert.Contains(t, err.Error(), `Docker's healthcheck of app-blue-web-1 still says "unhealthy"`)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

// TestTrafficPortOfTheComposeFile: the traffic service is the one that
// publishes the color's port over TCP, and the app's port is the container
// port published there (compose maps a range of both port by port).
func TestTrafficPortOfTheComposeFile(t *testing.T) {
	t.Parallel()
	green := "services:\n  web:\n    image: app:v1\n    ports: [\"{GREEN}:8080\"]\n"
	tests := []struct {
		name, blue string
		extra      map[string]string
		wantLog    string // a line of the preflight's, or of the error
		wantErr    string
	}{
		{
			name:    "ranges of both: the color's port first",
			blue:    "services:\n  web:\n    image: app:v1\n    ports: [\"{BLUE}-{PLUS1}:7000-7001\"]\n",
			wantLog: "(container port 7000)",
		},
		{
			name:    "ranges of both: the color's port second",
			blue:    "services:\n  web:\n    image: app:v1\n    ports: [\"{MINUS1}-{BLUE}:7000-7001\"]\n",
			wantLog: "(container port 7001)",
		},
		{
			name:    "UDP is not the traffic port",
			blue:    "services:\n  web:\n    image: app:v1\n    ports: [\"{BLUE}:8080/udp\"]\n",
			wantErr: "does not publish host port {BLUE} (blue-port) but publishes {BLUE}:8080",
		},
		{
			name:    "the traffic services differ between the colors",
			blue:    "services:\n  api:\n    image: app:v1\n    ports: [\"{BLUE}:8080\"]\n",
			wantErr: "the blue and green compose files take traffic on different services (api, web): set service",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			p := h.apps[color.Blue].port
			blue := strings.NewReplacer("{PLUS1}", strconv.Itoa(p+1), "{MINUS1}", strconv.Itoa(p-1)).Replace(tt.blue)
			h.inputs["blue-compose-file"] = h.file("blue.yml", blue)
			h.inputs["green-compose-file"] = h.file("green.yml", green)
			_, err := h.run(context.Background(), map[string]string{"mode": "status"})
			if tt.wantErr != "" {
				require.ErrorIs(t, err, deploy.ErrPreflight)
				assert.Contains(t, err.Error(), strings.ReplaceAll(tt.wantErr, "{BLUE}", strconv.Itoa(p)))
				return
			}
			require.NoError(t, err)
			assert.Contains(t, h.log.String(), fmt.Sprintf("service web on http://127.0.0.1:%d %s", p, tt.wantLog))
		})
	}
}

// TestPortsWithoutAHostPortDoNotCollide: a container port published on no
// fixed host port (Docker picks one) is no collision between the colors.
func TestPortsWithoutAHostPortDoNotCollide(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.inputs["compose-file"] = h.file("metrics.yml", "services:\n  web:\n    image: app:v1\n    ports: [\"${BLUEGREEN_PORT}:8080\", \"9090\"]\n")
	_, err := h.run(context.Background(), map[string]string{"service": "web"})
	require.NoError(t, err)
}

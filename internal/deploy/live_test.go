package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// TestFindLive: the live color is what the include says, cross-checked
// with what runs; mode status reports it without changing anything.
func TestFindLive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// include is the include on disk; BLUE and GREEN stand for the
		// colors' ports.
		include  string
		exists   bool
		blue     bool
		green    bool
		want     color.Color
		wantErr  string
		wantLogs string
	}{
		{name: "first deploy", want: color.None, wantLogs: "first deploy"},
		{name: "marker", include: "# bluegreen: color=green deploy=x (managed by bluegreen; edits are overwritten)\nset $service_url http://127.0.0.1:GREEN;\n", exists: true, green: true, want: color.Green},
		{name: "seed include by port", include: "set $service_url http://127.0.0.1:BLUE;\n", exists: true, blue: true, want: color.Blue},
		{name: "include names a dead color", include: "set $service_url http://127.0.0.1:BLUE;\n", exists: true, green: true, want: color.Blue, wantLogs: "nginx points at blue, but blue has no running container"},
		{name: "both running, include names one", include: "set $service_url http://127.0.0.1:GREEN;\n", exists: true, blue: true, green: true, want: color.Green, wantLogs: "blue is also running but nginx does not serve it"},
		{name: "include names neither, one runs", include: "set $service_url http://127.0.0.1:1;\n", exists: true, green: true, want: color.Green, wantLogs: "treating green as live"},
		{name: "include names neither, both run", include: "set $service_url http://127.0.0.1:1;\n", exists: true, blue: true, green: true, wantErr: "cannot be told"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if tt.blue {
				h.eng.Run("app-blue", "web", "app:v1")
			}
			if tt.green {
				h.eng.Run("app-green", "web", "app:v1")
			}
			if tt.exists {
				include := strings.NewReplacer("BLUE", strconv.Itoa(h.apps[color.Blue].port), "GREEN", strconv.Itoa(h.apps[color.Green].port)).Replace(tt.include)
				h.sw.SetInclude([]byte(include))
			}
			res, err := h.run(context.Background(), map[string]string{"mode": "status"})
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, res.Active, h.log.String())
			require.Contains(t, h.log.String(), tt.wantLogs)
			require.Empty(t, h.eng.Calls(), "status changes no container")
			require.Empty(t, h.sw.Calls(), "status changes no include")
		})
	}
}

// TestFindLiveByContainerName: an include template that names the
// container (nginx in a container on the app's network) identifies the
// live color by the name compose gives the traffic container,
// <project>-<service>-1, or by its container_name.
func TestFindLiveByContainerName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, compose, include string }{
		{"compose's name", "", "app-green-web-1"},
		{"container_name", "services:\n  web:\n    image: app:v1\n    container_name: web-${BLUEGREEN_COLOR}\n    ports: [\"${BLUEGREEN_PORT}:8080\"]\n", "web-green"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if tt.compose != "" {
				require.NoError(t, os.WriteFile(filepath.Join(h.dir, "named.yml"), []byte(tt.compose), 0o644))
				h.inputs["compose-file"] = "named.yml"
			}
			h.inputs["nginx-include-template"] = "set $service_url http://{{.ContainerName}}:{{.ContainerPort}};"
			h.eng.Run("app-blue", "web", "app:v1")
			h.eng.Run("app-green", "web", "app:v1")
			h.sw.SetInclude([]byte("set $service_url http://" + tt.include + ":8080;\n"))
			res, err := h.run(context.Background(), map[string]string{"mode": "status"})
			require.NoError(t, err)
			require.Equal(t, color.Green, res.Active)
		})
	}
}

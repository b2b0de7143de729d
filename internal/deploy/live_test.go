package deploy

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

func TestFindLive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		include  string
		exists   bool
		blue     bool
		green    bool
		want     color.Color
		wantErr  string
		wantLogs string
	}{
		{name: "first deploy", want: color.None, wantLogs: "first deploy"},
		{name: "marker", include: "# bluegreen: color=green deploy=x (managed by bluegreen; edits are overwritten)\nset $service_url http://127.0.0.1:8082;\n", exists: true, green: true, want: color.Green},
		{name: "seed include by port", include: "set $service_url http://127.0.0.1:8081;\n", exists: true, blue: true, want: color.Blue},
		{name: "include names a dead color", include: "set $service_url http://127.0.0.1:8081;\n", exists: true, green: true, want: color.Blue, wantLogs: "nginx points at blue, but blue has no running container"},
		{name: "both running, include names one", include: "set $service_url http://127.0.0.1:8082;\n", exists: true, blue: true, green: true, want: color.Green, wantLogs: "blue is also running but nginx does not serve it"},
		{name: "include names neither, one runs", include: "set $service_url http://127.0.0.1:1;\n", exists: true, green: true, want: color.Green, wantLogs: "treating green as live"},
		{name: "include names neither, both run", include: "set $service_url http://127.0.0.1:1;\n", exists: true, blue: true, green: true, wantErr: "cannot be told"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eng := NewFakeEngine()
			if tt.blue {
				eng.Run("app-blue", "web", "app:v1")
			}
			if tt.green {
				eng.Run("app-green", "web", "app:v1")
			}
			var include []byte
			if tt.exists {
				include = []byte(tt.include)
			}
			var log bytes.Buffer
			cfg := &config.Config{ProjectName: "app", UpstreamHost: "127.0.0.1", Nginx: config.Nginx{IncludePath: "/x/service-url.inc"}}
			r := &run{
				d:    &Deployer{Config: cfg, Target: Target{Engine: eng, Nginx: NewFakeSwitch(include)}, Report: report.New(&log, func(string) string { return "" })},
				cfg:  cfg,
				res:  &Result{DeployID: "test"},
				tmpl: nginx.MustParseTemplate(nginx.DefaultTemplate),
				plans: map[color.Color]*plan{
					color.Blue:  {Color: color.Blue, HostPort: 8081, URL: "http://127.0.0.1:8081", Service: "web"},
					color.Green: {Color: color.Green, HostPort: 8082, URL: "http://127.0.0.1:8082", Service: "web"},
				},
			}
			err := r.findLive(context.Background())
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, r.live.Color, log.String())
			require.Contains(t, log.String(), tt.wantLogs)
		})
	}
}

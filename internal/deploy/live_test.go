package deploy

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/pull"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// fakeEngine is an Engine whose List answers from a map; the other
// methods are not used by the find phase.
type fakeEngine struct {
	running map[string][]compose.Container
}

var _ Engine = (*fakeEngine)(nil)

func (f *fakeEngine) EnsureImages(context.Context, *types.Project, pull.Policy, string) error {
	return nil
}
func (f *fakeEngine) Up(context.Context, *types.Project) ([]compose.Container, error) {
	return nil, nil
}
func (f *fakeEngine) List(_ context.Context, project string) ([]compose.Container, error) {
	return f.running[project], nil
}
func (f *fakeEngine) Inspect(context.Context, string) (compose.Container, error) {
	return compose.Container{}, nil
}
func (f *fakeEngine) Logs(context.Context, string, int) (string, error)          { return "", nil }
func (f *fakeEngine) Start(context.Context, string) ([]compose.Container, error) { return nil, nil }
func (f *fakeEngine) Stop(context.Context, string, *time.Duration) error         { return nil }
func (f *fakeEngine) Down(context.Context, string, *time.Duration) error         { return nil }

// fakeSwitch is a Switch holding the include in memory.
type fakeSwitch struct {
	include []byte
	exists  bool
}

var _ Switch = (*fakeSwitch)(nil)

func (f *fakeSwitch) Read() ([]byte, bool, error) { return f.include, f.exists, nil }
func (f *fakeSwitch) Switch(_ context.Context, next []byte) (*nginx.Reload, error) {
	f.include, f.exists = next, true
	return &nginx.Reload{}, nil
}
func (f *fakeSwitch) Restore(_ context.Context, prev []byte, existed bool) error {
	f.include, f.exists = prev, existed
	return nil
}
func (f *fakeSwitch) Pending() (bool, bool, string)                    { return false, false, "" }
func (f *fakeSwitch) RemoveStaleTemps() ([]string, error)              { return nil, nil }
func (f *fakeSwitch) ShutdownTimeoutSet(context.Context) (bool, error) { return true, nil }
func (f *fakeSwitch) FindFrontDoor(context.Context, string) (nginx.FrontDoor, bool, error) {
	return nginx.FrontDoor{}, false, nil
}

func TestFindLive(t *testing.T) {
	t.Parallel()
	up := func(name string) []compose.Container { return []compose.Container{{Name: name, Running: true}} }
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
			eng := &fakeEngine{running: map[string][]compose.Container{}}
			if tt.blue {
				eng.running["app-blue"] = up("app-blue-web-1")
			}
			if tt.green {
				eng.running["app-green"] = up("app-green-web-1")
			}
			var log bytes.Buffer
			cfg := &config.Config{ProjectName: "app", UpstreamHost: "127.0.0.1", Nginx: config.Nginx{IncludePath: "/x/service-url.inc"}}
			r := &run{
				d:    &Deployer{Config: cfg, Engine: eng, Nginx: &fakeSwitch{include: []byte(tt.include), exists: tt.exists}, Report: report.New(&log, func(string) string { return "" })},
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

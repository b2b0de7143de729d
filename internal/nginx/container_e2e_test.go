//go:build e2e

package nginx

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/execx"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// The tests below run nginx in a real container made from the host's own
// nginx by docker import (testenv.NginxImage), with network_mode host so
// that it reaches the httptest colors on 127.0.0.1.

// containerSetup is blue and green on 127.0.0.1 and an nginx container on
// the host network serving blue.
type containerSetup struct {
	blue, green *colorServer
	nginx       *testenv.NginxContainer
	ct          *Container
	sw          *Switcher
	tmpl        *Template
	warnings    *logBuffer
}

func startContainerSetup(t *testing.T, opts testenv.NginxContainerOptions) *containerSetup {
	t.Helper()
	docker := testenv.RequireDocker(t)
	s := &containerSetup{
		blue:     newColorServer(t, color.Blue, 0),
		green:    newColorServer(t, color.Green, 0),
		tmpl:     MustParseTemplate(DefaultTemplate),
		warnings: &logBuffer{},
	}
	prev, err := s.tmpl.Render(s.blue.data)
	require.NoError(t, err)
	opts.Include = string(prev)
	opts.Network = "host"
	s.nginx = testenv.StartNginxContainer(t, opts)
	s.ct, err = OpenContainer(context.Background(), docker, s.nginx.Name, "")
	require.NoError(t, err)
	s.ct.Warnf = s.warnings.logf
	if opts.SingleFileInclude {
		return s
	}
	host, err := s.ct.HostPath(s.nginx.IncludePath)
	require.NoError(t, err)
	require.Equal(t, s.nginx.IncludeHostPath, host)
	s.sw = &Switcher{
		IncludePath: host,
		TestCmd:     []string{"nginx", "-t"},
		ReloadCmd:   []string{"nginx", "-s", "reload"},
		Run:         s.ct.Run,
		Owns:        s.ct.Owns,
		Logf:        t.Logf,
		Warnf:       s.warnings.logf,
	}
	require.Equal(t, "blue", get(t, s.nginx.URL("/")))
	return s
}

// TestContainerSwitch switches an nginx container whose include directory
// is a bind mount, and one where it is a named volume: the reload runs by
// exec inside the container, is confirmed by the container's own master
// (seen in the host's /proc), traffic moves, and the drain sees the old
// workers go. A broken include fails nginx -t inside the container with
// its exit code and output, and the previous include comes back.
func TestContainerSwitch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		volume bool
	}{{"bind mount", false}, {"volume", true}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startContainerSetup(t, testenv.NginxContainerOptions{Volume: tt.volume})
			ctx := context.Background()

			res, err := s.ct.Run(ctx, []string{"nginx", "-t"})
			require.NoError(t, err)
			assert.Contains(t, res.Combined(), "syntax is ok")

			r, err := s.sw.Switch(ctx, s.render(t, s.green.data))
			require.NoError(t, err)
			require.True(t, r.Observed, "the container's reload was not seen in /proc")
			require.Len(t, r.Masters, 1)
			assert.Equal(t, s.ct.PID, r.Masters[0].PID, "the container's master confirmed the reload")
			assert.NotEmpty(t, r.OldWorkers)
			d, err := Drain(ctx, r, s.blue.hostport, 10*time.Second)
			require.NoError(t, err)
			assert.False(t, d.TimedOut, "still open: %v", d.StillOpen)
			for i := 0; i < 3; i++ {
				assert.Equal(t, "green", get(t, s.nginx.URL("/")))
			}

			before, err := os.ReadFile(s.sw.IncludePath)
			require.NoError(t, err)
			_, err = s.sw.Switch(ctx, []byte("set $service_url http://127.0.0.1:1; this_is_not_a_directive on;\n"))
			require.ErrorIs(t, err, ErrConfigTest)
			var ee *execx.Error
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, 1, ee.ExitCode)
			assert.Contains(t, ee.Output, `unknown directive "this_is_not_a_directive"`)
			assert.Equal(t, []string{"docker", "exec", s.nginx.Name, "nginx", "-t"}, ee.Args)
			after, err := os.ReadFile(s.sw.IncludePath)
			require.NoError(t, err)
			assert.Equal(t, string(before), string(after), "the previous include is restored")
			assert.Equal(t, "green", get(t, s.nginx.URL("/")))
		})
	}
}

func (s *containerSetup) render(t *testing.T, d TemplateData) []byte {
	t.Helper()
	b, err := s.tmpl.Render(d)
	require.NoError(t, err)
	return b
}

// TestContainerSIGHUPWhenExecImpossible: when Docker cannot start the
// commands in the container (here: no such binary), the reload falls back
// to SIGHUP to the container's nginx master and the config test is skipped
// with a warning; the switch is still confirmed by new workers, and a
// config the master rejects is still put back.
func TestContainerSIGHUPWhenExecImpossible(t *testing.T) {
	t.Parallel()
	s := startContainerSetup(t, testenv.NginxContainerOptions{})
	s.sw.TestCmd = []string{"/no/such/nginx", "-t"}
	s.sw.ReloadCmd = []string{"/no/such/nginx", "-s", "reload"}
	ctx := context.Background()

	r, err := s.sw.Switch(ctx, s.render(t, s.green.data))
	require.NoError(t, err)
	require.True(t, r.Observed)
	// Old workers accept connections until the master tells them to quit,
	// about 100 ms after the new ones start: drain, then look.
	_, err = Drain(ctx, r, "", 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "green", get(t, s.nginx.URL("/")))
	assert.Contains(t, s.warnings.String(), "skipping the config test")
	assert.Contains(t, s.warnings.String(), "sent SIGHUP to its nginx master instead")

	s.sw.ConfirmTimeout = 2 * time.Second
	_, err = s.sw.Switch(ctx, []byte("set $service_url http://127.0.0.1:1; this_is_not_a_directive on;\n"))
	require.ErrorIs(t, err, ErrReloadNotConfirmed, "the master rejects the config, keeps its workers, and the switch says so")
	var se *SwitchError
	require.ErrorAs(t, err, &se)
	assert.NoError(t, se.RestoreErr)
	assert.Contains(t, string(s.read(t)), "color=green")
	assert.Equal(t, "green", get(t, s.nginx.URL("/")))
}

func (s *containerSetup) read(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(s.sw.IncludePath)
	require.NoError(t, err)
	return b
}

// TestContainerSingleFileMount shows why a single-file mount of the
// include is refused: after the atomic rename on the host, nginx in the
// container still reads the old file.
func TestContainerSingleFileMount(t *testing.T) {
	t.Parallel()
	s := startContainerSetup(t, testenv.NginxContainerOptions{SingleFileInclude: true})
	_, err := s.ct.HostPath(s.nginx.IncludePath)
	require.ErrorIs(t, err, ErrSingleFileMount)
	assert.Contains(t, err.Error(), "mount its directory instead")

	require.NoError(t, writeFileAtomic(s.nginx.IncludeHostPath, s.render(t, s.green.data), nil))
	code, out := s.nginx.Exec(t, "nginx", "-T")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "color=blue", "the container still sees the old inode")
	assert.NotContains(t, out, "color=green")
}

// TestContainerOwns: only the container's own processes are its nginx,
// so a host nginx cannot confirm a switch of the container's.
func TestContainerOwns(t *testing.T) {
	t.Parallel()
	s := startContainerSetup(t, testenv.NginxContainerOptions{})
	host := testenv.StartNginx(t, testenv.NginxOptions{})
	assert.True(t, s.ct.Owns(s.ct.PID))
	assert.False(t, s.ct.Owns(host.PID()))
	assert.False(t, s.ct.Owns(os.Getpid()))
	assert.True(t, s.ct.HostNetwork)
	assert.Empty(t, s.ct.Networks)
}

func TestOpenContainerErrors(t *testing.T) {
	t.Parallel()
	docker := testenv.RequireDocker(t)
	ctx := context.Background()
	_, err := OpenContainer(ctx, docker, testenv.UniqueName("bgtest-missing"), "")
	require.ErrorIs(t, err, ErrNginxContainer)
	assert.Contains(t, err.Error(), "no such container")

	name := testenv.UniqueName("bgtest-stopped")
	created, err := docker.ContainerCreate(ctx, &container.Config{Image: testenv.NginxImage(t)}, nil, nil, nil, name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = docker.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	_, err = OpenContainer(ctx, docker, name, "")
	require.ErrorIs(t, err, ErrNginxContainer)
	assert.Contains(t, err.Error(), "it is created, not running; start it (docker start "+name+")")
}

// TestContainerRunCancelled: a cancelled context ends a running exec.
func TestContainerRunCancelled(t *testing.T) {
	t.Parallel()
	s := startContainerSetup(t, testenv.NginxContainerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.ct.Run(ctx, []string{"nginx", "-t"})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.False(t, strings.Contains(s.warnings.String(), "SIGHUP"))
}

// BenchmarkContainerExec measures one nginx -t through the Engine API's
// exec, the cost a container adds to each test and reload of a switch:
//
//	go test -tags e2e ./internal/nginx -run '^$' -bench ContainerExec -benchtime 20x
func BenchmarkContainerExec(b *testing.B) {
	n := testenv.StartNginxContainer(b, testenv.NginxContainerOptions{})
	ct, err := OpenContainer(context.Background(), testenv.RequireDocker(b), n.Name, "")
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ct.Run(context.Background(), []string{"nginx", "-t"}); err != nil {
			b.Fatal(err)
		}
	}
}

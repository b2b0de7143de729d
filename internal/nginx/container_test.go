package nginx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/execx"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// The tests below run nginx in a real container made from the host's own
// nginx by docker import (testenv.NginxImage), with network_mode host so
// that it reaches the httptest colors on 127.0.0.1.

// TestHostPath maps an include inside the container to the host through
// each kind of mount, and refuses the layouts a deploy cannot work with.
func TestHostPath(t *testing.T) {
	t.Parallel()
	host := t.TempDir()
	confd := filepath.Join(host, "conf.d")
	vol := filepath.Join(host, "volumes", "conf", "_data")
	nested := filepath.Join(host, "sites")
	for _, d := range []string{confd, vol, nested} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	single := filepath.Join(confd, "service-url.inc")
	require.NoError(t, os.WriteFile(single, []byte("set $service_url http://127.0.0.1:1;\n"), 0o644))
	require.NoError(t, os.Symlink("/etc/nginx/other.inc", filepath.Join(confd, "linked.inc")))

	bind := func(src, dst string) container.MountPoint {
		return container.MountPoint{Type: mount.TypeBind, Source: src, Destination: dst, RW: true}
	}
	tests := []struct {
		name    string
		mounts  []container.MountPoint
		inner   string
		want    string
		wantErr error
		msg     []string
	}{
		{"directory bind mount", []container.MountPoint{bind(confd, "/etc/nginx/conf.d")},
			"/etc/nginx/conf.d/service-url.inc", single, nil, nil},
		{"read-only directory bind mount", []container.MountPoint{{Type: mount.TypeBind, Source: confd, Destination: "/etc/nginx/conf.d"}},
			"/etc/nginx/conf.d/service-url.inc", single, nil, nil},
		{"volume", []container.MountPoint{{Type: mount.TypeVolume, Name: "conf", Source: vol, Destination: "/etc/nginx/conf.d", RW: true}},
			"/etc/nginx/conf.d/service-url.inc", filepath.Join(vol, "service-url.inc"), nil, nil},
		{"parent directory mounted", []container.MountPoint{bind(host, "/etc/nginx")},
			"/etc/nginx/conf.d/service-url.inc", single, nil, nil},
		{"longest mount wins", []container.MountPoint{bind(host, "/etc/nginx"), bind(nested, "/etc/nginx/conf.d")},
			"/etc/nginx/conf.d/service-url.inc", filepath.Join(nested, "service-url.inc"), nil, nil},
		{"unclean path", []container.MountPoint{bind(confd, "/etc/nginx/conf.d/")},
			"/etc/nginx//conf.d/./service-url.inc", single, nil, nil},
		{"single-file bind mount", []container.MountPoint{bind(confd, "/etc/nginx/conf.d"), bind(single, "/etc/nginx/sites/service-url.inc")},
			"/etc/nginx/sites/service-url.inc", "", ErrSingleFileMount,
			[]string{"single-file mount never shows", `volumes: ["` + confd + `:/etc/nginx/sites"] in place of ["` + single + `:/etc/nginx/sites/service-url.inc"]`}},
		{"not mounted", []container.MountPoint{bind(confd, "/srv/other")},
			"/etc/nginx/conf.d/service-url.inc", "", ErrIncludeNotMounted,
			[]string{"container's own file system", `volumes: ["./nginx/conf.d:/etc/nginx/conf.d"]`}},
		{"sibling prefix is not a parent", []container.MountPoint{bind(confd, "/etc/nginx/conf")},
			"/etc/nginx/conf.d/service-url.inc", "", ErrIncludeNotMounted, nil},
		{"tmpfs", []container.MountPoint{{Type: mount.TypeTmpfs, Destination: "/etc/nginx/conf.d"}},
			"/etc/nginx/conf.d/service-url.inc", "", ErrIncludeNotMounted, []string{"tmpfs mount"}},
		{"source missing on this host", []container.MountPoint{bind("/github/workspace/nginx", "/etc/nginx/conf.d")},
			"/etc/nginx/conf.d/service-url.inc", "", nil, []string{"does not exist here", "must run on the Docker host"}},
		{"relative path", []container.MountPoint{bind(confd, "/etc/nginx/conf.d")},
			"conf.d/service-url.inc", "", nil, []string{"must be an absolute path inside container"}},
		{"absolute symlink", []container.MountPoint{bind(confd, "/etc/nginx/conf.d")},
			"/etc/nginx/conf.d/linked.inc", "", nil, []string{"symbolic link to /etc/nginx/other.inc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Container{Name: "web-nginx", Mounts: tt.mounts}
			got, err := c.HostPath(tt.inner)
			if tt.want != "" {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			require.Error(t, err)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			for _, m := range tt.msg {
				assert.Contains(t, err.Error(), m)
			}
		})
	}
}

func TestUpstreamIP(t *testing.T) {
	t.Parallel()
	ips := map[string]string{"app-green_default": "172.20.0.2", "edge": "172.30.0.5", "zeta": "172.40.0.9", "none": ""}
	tests := []struct {
		name       string
		ips        map[string]string
		networks   []string
		want       string
		wantShared bool
	}{
		{"shared network", ips, []string{"edge"}, "172.30.0.5", true},
		{"first shared in nginx's order", ips, []string{"other", "zeta", "edge"}, "172.40.0.9", true},
		{"no shared network: first by name", ips, []string{"other"}, "172.20.0.2", false},
		{"nginx on the host", ips, nil, "172.20.0.2", false},
		{"shared network without an address", ips, []string{"none"}, "172.20.0.2", false},
		{"no addresses", map[string]string{}, []string{"edge"}, "", false},
	}
	for _, tt := range tests {
		ip, shared := UpstreamIP(tt.ips, tt.networks)
		assert.Equal(t, tt.want, ip, tt.name)
		assert.Equal(t, tt.wantShared, shared, tt.name)
	}
}

func TestCommandKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args         []string
		reload, test bool
	}{
		{[]string{"nginx", "-s", "reload"}, true, false},
		{[]string{"/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf", "-sreload"}, true, false},
		{[]string{"nginx", "-s", "quit"}, false, false},
		{[]string{"nginx", "-t"}, false, true},
		{[]string{"nginx", "-qt"}, false, true},
		{[]string{"nginx", "-T"}, false, true},
		{[]string{"nginx", "-g", "daemon off;"}, false, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.reload, isReload(tt.args), "isReload(%q)", tt.args)
		assert.Equal(t, tt.test, isTest(tt.args), "isTest(%q)", tt.args)
	}
	assert.True(t, execFailedToStart(126, execx.Result{Stderr: `OCI runtime exec failed: exec failed: unable to start container process: exec: "/nope": stat /nope: no such file or directory: unknown`}))
	assert.True(t, execFailedToStart(127, execx.Result{Stdout: `exec: "nginx": executable file not found in $PATH`}))
	assert.False(t, execFailedToStart(1, execx.Result{Stderr: "nginx: [emerg] unknown directive"}))
	assert.False(t, execFailedToStart(127, execx.Result{Stderr: "sh: nginx: not found"}), "a script's own 127 is the command failing")
}

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
//	go test ./internal/nginx -run '^$' -bench ContainerExec -benchtime 20x
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

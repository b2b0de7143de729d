package nginx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

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

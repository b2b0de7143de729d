package nginx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

func TestInclusionFromDump(t *testing.T) {
	t.Parallel()
	const inc = "/etc/nginx/conf.d/service-url.inc"
	tests := []struct {
		name                      string
		dump                      string
		chains                    []string
		inServer, inHTTP, nowhere bool
	}{
		{
			name: "seed: sites-enabled/default includes it in its server",
			dump: `# configuration file /etc/nginx/nginx.conf:
http {
    include /etc/nginx/conf.d/*.conf;
    include /etc/nginx/sites-enabled/*;
}
# configuration file /etc/nginx/sites-enabled/default:
server {
	listen 80 default_server;
	include /etc/nginx/conf.d/service-url.inc;
	location / { proxy_pass $service_url; }
}
# configuration file /etc/nginx/conf.d/service-url.inc:
set $service_url http://127.0.0.1:8081;
`,
			chains:   []string{"http server"},
			inServer: true,
		},
		{
			name: "upstream in http context through a glob",
			dump: `# configuration file /etc/nginx/nginx.conf:
http {
    include /etc/nginx/conf.d/*.inc;
    server { listen 80; location / { proxy_pass http://app; } }
}
`,
			chains: []string{"http"},
			inHTTP: true,
		},
		{
			name: "relative include inside a location",
			dump: `# configuration file /etc/nginx/nginx.conf:
http { server { listen 80; location / { include conf.d/service-url.inc; proxy_pass $service_url; } } }
`,
			chains:   []string{"http server location"},
			inServer: true,
		},
		{
			name: "top of an included file takes the includer's context",
			dump: `# configuration file /etc/nginx/nginx.conf:
http { server { listen 80; include /etc/nginx/snippets/app.conf; } }
# configuration file /etc/nginx/snippets/app.conf:
include /etc/nginx/conf.d/service-url.inc;
location / { proxy_pass $service_url; }
`,
			chains:   []string{"http server"},
			inServer: true,
		},
		{
			name: "not included: the file sits in conf.d but only *.conf is read",
			dump: `# configuration file /etc/nginx/nginx.conf:
http {
    include /etc/nginx/conf.d/*.conf;
    server { listen 80; location / { proxy_pass http://127.0.0.1:8081; } }
}
`,
			nowhere: true,
		},
		{
			name: "commented out",
			dump: `# configuration file /etc/nginx/nginx.conf:
http { server { listen 80; # include /etc/nginx/conf.d/service-url.inc;
} }
`,
			nowhere: true,
		},
		{
			name: "dumped although no directive matches (a symlinked path): not nowhere",
			dump: `# configuration file /etc/nginx/nginx.conf:
http { server { listen 80; include /opt/nginx/conf.d/service-url.inc; } }
# configuration file /etc/nginx/conf.d/service-url.inc:
set $service_url http://127.0.0.1:8081;
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := InclusionFromDump(tt.dump, inc)
			require.Equal(t, tt.chains, in.Chains)
			require.Equal(t, tt.inServer, in.InServer(), "InServer")
			require.Equal(t, tt.inHTTP, in.InHTTP(), "InHTTP")
			require.Equal(t, tt.nowhere, in.Nowhere(), "Nowhere")
		})
	}
}

func TestInclusionUses(t *testing.T) {
	t.Parallel()
	const inc = "/etc/nginx/conf.d/upstream.inc"
	dump := `# configuration file /etc/nginx/nginx.conf:
http {
    include /etc/nginx/conf.d/upstream.inc;
    server { listen 80; location / { proxy_pass http://app/; } location /api { grpc_pass grpc://api; } }
}
# configuration file /etc/nginx/conf.d/upstream.inc:
upstream app { server 127.0.0.1:8081; }
upstream unused { server 127.0.0.1:8081; }
location = /x { proxy_pass http://unused; }
`
	in := InclusionFromDump(dump, inc)
	require.Equal(t, []string{"http://app/", "grpc://api"}, in.Passes, "passes inside the include itself do not count")
	require.True(t, in.Uses("app"))
	require.True(t, in.Uses("api"))
	require.False(t, in.Uses("unused"))
	require.False(t, in.Uses("ap"))
	require.True(t, Inclusion{Passes: []string{"http://$backend"}}.Uses("app"), "a variable may name it")
	require.Equal(t, []string{"app", "unused"}, UpstreamNames([]byte("upstream app { server a:1; }\nupstream unused { server b:1; }\n")))
}

// TestFindInclusionRealNginx reads a real `nginx -T` of a config that
// includes the include from a server block through a snippet, and of one
// that does not include it at all.
func TestFindInclusionRealNginx(t *testing.T) {
	t.Parallel()
	bin := testenv.RequireNginx(t)
	dir := t.TempDir()
	inc := filepath.Join(dir, "conf.d", "service-url.inc")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "conf.d"), 0o755))
	require.NoError(t, os.WriteFile(inc, []byte("set $service_url http://127.0.0.1:8081;\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.conf"), []byte("include conf.d/service-url.inc;\nlocation / { proxy_pass $service_url; }\n"), 0o644))
	conf := func(server string) string {
		p := filepath.Join(dir, fmt.Sprintf("nginx-%d.conf", len(server)))
		require.NoError(t, os.WriteFile(p, []byte(fmt.Sprintf(`pid %s/nginx.pid;
error_log stderr;
events {}
http {
    access_log off;
    client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
    server { listen 127.0.0.1:1; %s }
}
`, dir, server)), 0o644))
		return p
	}
	for _, tt := range []struct {
		server   string
		inServer bool
	}{
		{"include " + dir + "/app.conf;", true},
		{"location / { return 200; }", false},
	} {
		s := &Switcher{TestCmd: []string{bin, "-p", dir, "-c", conf(tt.server), "-t"}}
		in, err := s.FindInclusion(context.Background(), inc)
		require.NoError(t, err)
		require.Equal(t, tt.inServer, in.InServer(), "%s: %+v", tt.server, in)
		require.Equal(t, !tt.inServer, in.Nowhere(), "%s: %+v", tt.server, in)
	}
}

// TestExampleServerBlock: the server block the README points users to
// (examples/nginx/bluegreen.conf) passes nginx -t with the default
// include, and nginx -T shows it including the include in a server.
func TestExampleServerBlock(t *testing.T) {
	t.Parallel()
	bin := testenv.RequireNginx(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "nginx", "bluegreen.conf"))
	require.NoError(t, err)
	const path = "/etc/nginx/conf.d/service-url.inc"
	require.Contains(t, string(b), "include "+path+";")
	dir := t.TempDir()
	inc := filepath.Join(dir, "service-url.inc")
	data := TemplateData{Color: "blue", Host: "127.0.0.1", Port: 8081, DeployID: "x"}
	rendered, err := MustParseTemplate(DefaultTemplate).Render(data)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(inc, rendered, 0o644))
	server := strings.NewReplacer(path, inc, "listen 80;", "listen 127.0.0.1:1;").Replace(string(b))
	conf := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf("pid %s/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n    access_log off;\n    client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;\n%s\n}\n", dir, server)), 0o644))
	s := &Switcher{TestCmd: []string{bin, "-p", dir, "-c", conf, "-t"}}
	in, err := s.FindInclusion(context.Background(), inc)
	require.NoError(t, err)
	require.True(t, in.InServer(), "%+v", in)
}

package nginx

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

// TestResolverWarnings: a host name nginx resolves per request (a URL in a
// variable, a proxy_pass with variables) needs a resolver somewhere in the
// config; names in upstream blocks and in a plain proxy_pass are resolved
// at load time, and addresses need no resolving.
func TestResolverWarnings(t *testing.T) {
	t.Parallel()
	const conf = "# configuration file /etc/nginx/nginx.conf:\nhttp {\n    server {\n        include /etc/nginx/conf.d/service-url.inc;\n    }\n}\n"
	tests := []struct {
		name    string
		include string
		config  string
		n       int      // warnings
		want    []string // in the warnings
	}{
		{"seed include with an IP", "set $service_url http://127.0.0.1:8082;\n", conf, 0, nil},
		{"IPv6 address", "set $service_url http://[::1]:8082;\n", conf, 0, nil},
		{"container name in a variable", "set $service_url http://app-green-web-1:8080;\n", conf, 1,
			[]string{`"set $service_url http://app-green-web-1:8080" names host app-green-web-1`, "nginx's config has none", "resolver 127.0.0.11 valid=10s;"}},
		{"localhost is resolved per request too", "set $service_url http://localhost:8082;\n", conf, 1, []string{"names host localhost"}},
		{"resolver in nginx.conf", "set $service_url http://app-green-web-1:8080;\n", conf + "http { resolver 127.0.0.11 valid=10s; }\n", 0, nil},
		{"resolver in the include", "resolver 127.0.0.11;\nset $service_url http://app-green-web-1:8080;\n", "", 0, nil},
		{"commented-out resolver does not count", "set $service_url http://app-green-web-1:8080;\n", conf + "# resolver 127.0.0.11;\n", 1, []string{"names host app-green-web-1"}},
		{"config unknown", "set $service_url http://app-green-web-1:8080;\n", "", 1, []string{"could not be read (nginx -T)", "make sure nginx has one"}},
		{"upstream block with a name", "upstream app {\n    server app-green-web-1:8080;\n    keepalive 16;\n}\n", conf, 0, nil},
		{"proxy_pass without variables", "location / {\n    proxy_pass http://app-green-web-1:8080;\n}\n", conf, 0, nil},
		{"proxy_pass with a variable in the path", "location / {\n    proxy_pass http://app-green-web-1:8080$request_uri;\n}\n", conf, 1, []string{"names host app-green-web-1"}},
		{"variable names an upstream of nginx.conf", "set $service_url http://app_backend;\n", conf + "upstream app_backend { server 10.0.0.1:80; }\n", 0, nil},
		{"variable names an upstream of the include", "upstream app_green { server 10.0.0.1:80; }\nset $service_url http://app_green;\n", conf, 0, nil},
		{"host from a variable is not known", "set $service_url http://$color_host:8080;\n", conf, 0, nil},
		{"port from a variable", "set $service_url http://app-green-web-1:$color_port;\n", conf, 1, []string{"names host app-green-web-1"}},
		{"quoted value", "set $service_url \"http://app-green-web-1:8080\";\n", conf, 1, []string{"names host app-green-web-1"}},
		{"not a URL", "set $service_color green;\nadd_header X-Served-By app-green-web-1 always;\n", conf, 0, nil},
		{"unix socket", "set $service_url http://unix:/run/app-green.sock;\n", conf, 0, nil},
		{"two names", "set $a http://one:1;\nset $b https://two:2/x;\n", conf, 2, []string{"names host one", "names host two"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := ResolverWarnings([]byte(tt.include), tt.config)
			require.Len(t, got, tt.n, "%q", got)
			for _, w := range tt.want {
				assert.Contains(t, strings.Join(got, "\n"), w)
			}
		})
	}
}

func TestSwitchWarnsWithoutResolver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		include  string
		dump     string
		wantDump bool
		want     string
	}{
		{"IP address: no dump", "# bluegreen: color=green\nset $service_url http://127.0.0.1:8082;\n", "", false, ""},
		{"name without resolver", "# bluegreen: color=green\nset $service_url http://app-green-web-1:8080;\n", "http { }", true, "nginx's config has none"},
		{"name with resolver", "# bluegreen: color=green\nset $service_url http://app-green-web-1:8080;\n", "http { resolver 127.0.0.11; }", true, ""},
		{"upstream block: no dump", "# bluegreen: color=green\nupstream app { server app-green-web-1:8080; }\n", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var dumped bool
			run := func(ctx context.Context, args []string) (execx.Result, error) {
				if slices.Contains(args, "-T") {
					dumped = true
					return execx.Result{Stdout: tt.dump}, nil
				}
				return execx.Result{}, nil
			}
			path := filepath.Join(t.TempDir(), "service-url.inc")
			warnings := &logBuffer{}
			sw := &Switcher{
				IncludePath: path,
				TestCmd:     []string{"nginx", "-t"},
				ReloadCmd:   []string{"nginx", "-s", "reload"},
				Run:         run,
				Procfs:      t.TempDir(), // no nginx visible: the switch is unconfirmed
				Warnf:       warnings.logf,
			}
			_, err := sw.Switch(context.Background(), []byte(tt.include))
			require.NoError(t, err)
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tt.include, string(got))
			assert.Equal(t, tt.wantDump, dumped)
			w := warnings.String()
			if tt.want == "" {
				assert.NotContains(t, w, "resolver directive")
			} else {
				assert.Contains(t, w, tt.want)
			}
			assert.Equal(t, 1, strings.Count(w, "could not confirm the nginx reload"), "the unconfirmed reload is warned about through Warnf")
		})
	}
}

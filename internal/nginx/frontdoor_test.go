package nginx

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFrontDoorFromDump(t *testing.T) {
	t.Parallel()
	const inc = "/etc/nginx/conf.d/service-url.inc"
	tests := []struct {
		name string
		dump string
		want FrontDoor
		ok   bool
	}{
		{
			name: "seed default server",
			dump: `# configuration file /etc/nginx/nginx.conf:
http {
    include /etc/nginx/sites-enabled/*;
}
# configuration file /etc/nginx/sites-enabled/default:
server {
	listen 80 default_server;
	listen [::]:80 default_server;
	server_name _;
	include /etc/nginx/conf.d/service-url.inc;
	location / { proxy_pass $service_url; }
}
# configuration file /etc/nginx/conf.d/service-url.inc:
set $service_url http://127.0.0.1:8081;
`,
			want: FrontDoor{URL: "http://127.0.0.1:80"},
			ok:   true,
		},
		{
			name: "second server with name, glob include, address",
			dump: `http {
  server { listen 8080; server_name other.example; location / { return 404; } }
  server {
    listen 127.0.0.2:9090;   # the app
    server_name app.example www.app.example;
    include /etc/nginx/conf.d/*.inc;
  }
}`,
			want: FrontDoor{URL: "http://127.0.0.2:9090", Host: "app.example"},
			ok:   true,
		},
		{
			name: "ssl",
			dump: `http { server { listen 443 ssl; server_name "x.example"; include ` + inc + `; } }`,
			want: FrontDoor{URL: "https://127.0.0.1:443", Host: "x.example"},
			ok:   true,
		},
		{
			name: "include in http context",
			dump: `http { include ` + inc + `; server { listen 80; location / { proxy_pass http://app; } } }`,
			ok:   false,
		},
		{
			name: "unix socket only",
			dump: `http { server { listen unix:/run/x.sock; include ` + inc + `; } }`,
			ok:   false,
		},
		{
			name: "braces in strings and comments",
			dump: `http { server { listen 81; # a } comment
  location = /x { return 200 "a { b } c;"; }
  include ` + inc + `; } }`,
			want: FrontDoor{URL: "http://127.0.0.1:81"},
			ok:   true,
		},
	}
	for _, tt := range tests {
		got, ok := FrontDoorFromDump(tt.dump, inc)
		require.Equal(t, tt.ok, ok, tt.name)
		require.Equal(t, tt.want, got, tt.name)
	}
}

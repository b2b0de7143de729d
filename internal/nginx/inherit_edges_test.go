package nginx

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestInheritedServerInsideHTTP: a server block written inside the main
// file's http block (not in a file of its own) is read the same way: its
// own add_header means nothing is inherited; without one, http's are; the
// server lines of an upstream block are not server blocks.
func TestInheritedServerInsideHTTP(t *testing.T) {
	t.Parallel()
	const inc = "/etc/nginx/conf.d/service-url.inc"
	own := "# configuration file /etc/nginx/nginx.conf:\nhttp {\n  add_header X-Frame-Options DENY;\n" +
		"  upstream app { server 127.0.0.1:8081; }\n" +
		"  server { listen 80; add_header X-Own 1; include " + inc + "; }\n}\n"
	assert.Nil(t, Inherited(own, inc, "add_header"))
	none := "# configuration file /etc/nginx/nginx.conf:\nhttp {\n  add_header X-Frame-Options DENY;\n" +
		"  upstream app { server 127.0.0.1:8081; }\n" +
		"  server { listen 80; include " + inc + "; }\n}\n"
	assert.Equal(t, []string{"add_header X-Frame-Options DENY;"}, Inherited(none, inc, "add_header"))
}

// TestInheritedAccessLogWithoutArguments: an access_log with no argument
// (a dump is data; nginx would refuse it) is kept as written, not read
// past its end.
func TestInheritedAccessLogWithoutArguments(t *testing.T) {
	t.Parallel()
	const inc = "/etc/nginx/conf.d/service-url.inc"
	dump := "# configuration file /etc/nginx/nginx.conf:\nhttp {\n  access_log;\n  server { include " + inc + "; }\n}\n"
	assert.Equal(t, []string{"access_log;"}, Inherited(dump, inc, "access_log"))
}

package nginx

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestInclusionPassWithoutArgument: a pass directive with no argument (a
// dump is data; nginx would refuse it) is skipped, not read past its end;
// the include's own passes are not the config's.
func TestInclusionPassWithoutArgument(t *testing.T) {
	t.Parallel()
	const inc = "/etc/nginx/conf.d/service-url.inc"
	dump := "# configuration file /etc/nginx/nginx.conf:\n" +
		"http { server { include " + inc + "; location / { proxy_pass; } location /a { proxy_pass http://app_backend/a; } } }\n" +
		"# configuration file " + inc + ":\nproxy_pass http://own;\n"
	in := InclusionFromDump(dump, inc)
	assert.True(t, in.Dumped)
	assert.Equal(t, []string{"http://app_backend/a"}, in.Passes)
}

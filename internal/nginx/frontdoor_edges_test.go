package nginx

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFrontDoorFirstServerWins: the server block that includes the include
// is the front door even when other server blocks follow it.
func TestFrontDoorFirstServerWins(t *testing.T) {
	t.Parallel()
	dump := `http {
  server { listen 8081; server_name app.example; include /etc/nginx/conf.d/service-url.inc; }
  server { listen 8082; server_name other.example; location / { return 404; } }
}`
	got, ok := FrontDoorFromDump(dump, "/etc/nginx/conf.d/service-url.inc")
	assert.True(t, ok)
	assert.Equal(t, FrontDoor{URL: "http://127.0.0.1:8081", Host: "app.example"}, got)
}

// TestFrontDoorListenForms: the forms of a listen address and where the
// check reaches them.
func TestFrontDoorListenForms(t *testing.T) {
	t.Parallel()
	for listen, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080",
		"*:8080":         "http://127.0.0.1:8080",
		"8080":           "http://127.0.0.1:8080",
		"127.0.0.2":      "http://127.0.0.2:80",
		"[::1]:8080":     "http://[::1]:8080",
		"[::]:8080":      "http://127.0.0.1:8080",
		"localhost:8080": "http://127.0.0.1:8080",
	} {
		got, ok := frontDoorOf([][]string{{listen}}, nil)
		assert.True(t, ok, listen)
		assert.Equal(t, want, got.URL, "listen %s", listen)
	}
}

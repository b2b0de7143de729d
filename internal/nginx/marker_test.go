package nginx

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// TestMarkerLocationAllowsOnlyItsSources: the default include answers the
// marker location to the addresses in MarkerAllow (loopback by default)
// and 403 to anyone else, in a real nginx; the rest of the server is not
// restricted.
func TestMarkerLocationAllowsOnlyItsSources(t *testing.T) {
	t.Parallel()
	tmpl := MustParseTemplate(DefaultTemplate)
	data := TemplateData{Color: "blue", Host: "127.0.0.1", Port: 1, DeployID: "m-1", Project: "app", Service: "web"}
	n := testenv.StartNginx(t, testenv.NginxOptions{Server: "    include %INCLUDE%;\n    location / { return 200 \"app\\n\"; }\n"})
	sw := &Switcher{IncludePath: n.IncludePath, TestCmd: n.TestCmd(), ReloadCmd: n.ReloadCmd()}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	status := func(path string) int {
		resp, err := client.Get(n.URL(path))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		allow []string
		want  int
	}{
		{nil, http.StatusOK}, // loopback: this host's own check
		{[]string{"192.0.2.7", "2001:db8::/32"}, http.StatusForbidden}, // a request from 127.0.0.1 is anyone else
		{[]string{"127.0.0.0/8"}, http.StatusOK},
	} {
		data.MarkerAllow = tt.allow
		inc, err := tmpl.Render(data)
		require.NoError(t, err)
		_, err = sw.Switch(context.Background(), inc)
		require.NoError(t, err, "nginx -t accepts %s", inc)
		require.Eventually(t, func() bool { return status(MarkerPath) == tt.want }, 5*time.Second, 50*time.Millisecond,
			"marker location with allow %v answers %d to 127.0.0.1", tt.allow, tt.want)
		require.Equal(t, http.StatusOK, status("/"), "only the marker location is restricted")
	}
	_ = os.Remove(n.IncludePath + ".unused")
}

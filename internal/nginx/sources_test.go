package nginx

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMarkerSources(t *testing.T) {
	t.Parallel()
	cidr := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		require.NoError(t, err)
		n.IP = ip
		return n
	}
	got := markerSources([]net.Addr{
		cidr("127.0.0.1/8"), cidr("::1/128"),
		cidr("10.0.1.5/24"),   // the host's own address, not its network
		cidr("172.18.0.1/16"), // a Docker bridge's gateway
		cidr("172.17.0.1/16"), // docker0
		cidr("fe80::1/64"),    // link-local: never a check's source here
		cidr("2001:db8::5/64"),
	}, []netip.Addr{netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("10.0.1.5")})
	require.Equal(t, []string{"127.0.0.1", "::1", "10.0.1.5", "172.17.0.1", "172.18.0.1", "203.0.113.9", "2001:db8::5"}, got)

	tmpl := MustParseTemplate(DefaultTemplate)
	_, err := tmpl.Render(TemplateData{Color: "blue", Host: "127.0.0.1", Port: 1, DeployID: "x", MarkerAllow: got})
	require.NoError(t, err, "every source renders as an allow line")
}

func TestMarkerSourcesOfThisHost(t *testing.T) {
	t.Parallel()
	got := MarkerSources(context.Background(), "http://127.0.0.1:8080")
	require.Equal(t, []string{"127.0.0.1", "::1"}, got[:2])
	for _, s := range got {
		_, err := netip.ParseAddr(s)
		require.NoError(t, err, s)
	}
}

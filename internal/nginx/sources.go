package nginx

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"time"
)

// MarkerSources returns the client addresses the front-door check can
// reach nginx from, for TemplateData.MarkerAllow: loopback; every address
// of this host's network interfaces, which covers a check through a
// listen address of the host and, for nginx in a container on a bridge
// network, the Docker gateway that a published port's proxy connects from
// (that gateway is the bridge's address on the host); and the addresses
// verify-url's host resolves to, which a host reaching its own public
// address through its provider's NAT comes from. Nobody outside the host
// has any of these as a source address, so the marker location stays
// private.
func MarkerSources(ctx context.Context, verifyURL string) []string {
	addrs, _ := net.InterfaceAddrs()
	var verify []netip.Addr
	if u, err := url.Parse(verifyURL); err == nil && u.Hostname() != "" {
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			verify = append(verify, ip)
		} else {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			ips, _ := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
			cancel()
			verify = append(verify, ips...)
		}
	}
	return markerSources(addrs, verify)
}

// markerSources is MarkerSources on given interface and verify-url
// addresses: single addresses (never an interface's whole network, which
// would let in every container on a bridge), without link-local ones,
// unspecified ones or zones, sorted, loopback first.
func markerSources(ifaces []net.Addr, verify []netip.Addr) []string {
	seen := map[netip.Addr]bool{}
	var ips []netip.Addr
	add := func(ip netip.Addr) {
		ip = ip.Unmap().WithZone("")
		if !ip.IsValid() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || seen[ip] {
			return
		}
		seen[ip] = true
		ips = append(ips, ip)
	}
	for _, s := range DefaultMarkerAllow {
		add(netip.MustParseAddr(s))
	}
	for _, a := range ifaces {
		var ip net.IP
		switch a := a.(type) {
		case *net.IPNet:
			ip = a.IP
		case *net.IPAddr:
			ip = a.IP
		}
		if p, ok := netip.AddrFromSlice(ip); ok {
			add(p)
		}
	}
	for _, ip := range verify {
		add(ip)
	}
	head := len(DefaultMarkerAllow)
	if head > len(ips) {
		head = len(ips)
	}
	rest := ips[head:]
	sort.Slice(rest, func(i, j int) bool { return rest[i].Less(rest[j]) })
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

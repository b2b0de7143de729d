package config

// Checks of the inputs that cross the trust boundary into names and
// commands: the upstream host nginx is told to reach.

import (
	"net/netip"
	"strings"
)

// upstreamHost accepts an RFC 1123 host name or an IP address and returns
// it bare: an IPv6 address given in brackets loses them, because the URL
// and the include put them back (net.JoinHostPort).
func (p *parser) upstreamHost(name string) string {
	v := p.str(name)
	bare := v
	if inner, ok := strings.CutPrefix(v, "["); ok {
		bare, _ = strings.CutSuffix(inner, "]")
	}
	if addr, err := netip.ParseAddr(bare); err == nil && addr.Zone() == "" && (bare == v || addr.Is6()) {
		return bare
	}
	if isHostName(v) {
		return v
	}
	p.addf("%s %q is not a host name or IP address: use a name made of letters, digits, - and . (for example host.docker.internal) or an IP address (for example 127.0.0.1 or ::1)", name, v)
	return v
}

// isHostName reports whether s is a host name as RFC 1123 has it: dot-
// separated labels of 1 to 63 letters, digits and hyphens, not starting or
// ending with a hyphen, 253 characters at most. An all-digit last label
// is refused: that is a mistyped IPv4 address (10.0.0), not a name.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

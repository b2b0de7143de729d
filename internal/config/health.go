package config

// The health inputs: what is probed, and what every probe sends. The path,
// the Host header and the extra headers go onto the wire of a request the
// action makes as root on the host, so each is held to what HTTP allows
// before anything starts; header values are secrets and never printed.

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// Caps on what the health inputs may hold. A probe's request line and
// headers stay far below what servers accept by default (nginx reads a
// request line and each header into 8 KiB buffers), and a value that is
// megabytes long is a mistake, not a health check.
const (
	MaxHealthPathLen    = 1024
	MaxHealthHeaderLen  = 4096 // one header line, name and value
	MaxHealthHeaders    = 32
	maxShownInputPrefix = 60
)

// reservedHeaders are set by the probe itself or frame the request: a
// value given here would be ignored or would break the request.
var reservedHeaders = map[string]string{
	"Host":              "use health-host for the Host header",
	"Content-Length":    "a probe is a GET without a body",
	"Transfer-Encoding": "a probe is a GET without a body",
	"Connection":        "the probe manages its own connection",
	"Keep-Alive":        "the probe manages its own connection",
	"Proxy-Connection":  "the probe manages its own connection",
	"Te":                "the probe manages its own connection",
	"Trailer":           "a probe is a GET without a body",
	"Upgrade":           "a probe is a plain GET",
}

func (p *parser) health() Health {
	h := Health{
		Path:         p.healthPath("health-path"),
		Accept:       p.statuses("health-status"),
		Retries:      p.positiveInt("health-retries"),
		Interval:     p.duration("health-interval", true),
		Timeout:      p.duration("health-timeout", true),
		StartupDelay: p.duration("startup-delay", false),
		Host:         p.healthHost("health-host"),
		Headers:      p.healthHeaders("health-headers"),
		Scheme:       p.choice("health-scheme", "http", "https"),
		InsecureTLS:  p.boolean("health-insecure-tls"),
	}
	h.StartInterval = p.startInterval(h.Interval)
	if h.InsecureTLS && h.Scheme != "https" {
		p.warnf("health-insecure-tls is true but health-scheme is %q, so it has no effect: set health-scheme: https to probe over TLS", h.Scheme)
	}
	return h
}

// healthPath accepts an absolute path, with a query if need be, that a
// request line can carry as it is.
func (p *parser) healthPath(name string) string {
	v := p.str(name)
	switch {
	case len(v) > MaxHealthPathLen:
		p.addf("%s %s is %d bytes long: use at most %d (for example /api/health)", name, shown(v), len(v), MaxHealthPathLen)
	case strings.ContainsFunc(v, unicode.IsControl):
		p.addf("%s %s contains a control character such as a line break: give one path on one line (for example /api/health)", name, shown(v))
	case strings.ContainsFunc(v, unicode.IsSpace):
		p.addf("%s %s contains white space: percent-encode it (%%20) or remove it (for example /api/health)", name, shown(v))
	case !strings.HasPrefix(v, "/"):
		p.addf("%s %s must start with / (for example /api/health)", name, shown(v))
	default:
		if _, err := url.ParseRequestURI(v); err != nil {
			p.addf("%s %s is not a URL path: give a path such as /api/health, with %%-escapes written as %%XX", name, shown(v))
		}
	}
	return v
}

// healthHost accepts what a Host header holds: a host name or an IP
// address, with a port if the app checks it (example.com:8443; an IPv6
// address in brackets).
func (p *parser) healthHost(name string) string {
	v := p.str(name)
	if v == "" || validHostHeader(v) {
		return v
	}
	p.addf("%s %s is not a host name or IP address with an optional port: use the name the app expects, for example www.example.com or example.com:8443", name, shown(v))
	return v
}

// validHostHeader reports whether v is host or host:port as a Host header
// carries it: a host name, an IPv4 address, or an IPv6 address in
// brackets.
func validHostHeader(v string) bool {
	host := v
	if h, port, err := net.SplitHostPort(v); err == nil {
		if !validPort(port) {
			return false
		}
		host = h
	}
	if strings.HasPrefix(v, "[") {
		if host == v {
			// No port: SplitHostPort left the brackets on.
			inner, ok := strings.CutSuffix(v[1:], "]")
			if !ok {
				return false
			}
			host = inner
		}
		addr, err := netip.ParseAddr(host)
		return err == nil && addr.Is6() && addr.Zone() == ""
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.Is4()
	}
	return isHostName(host)
}

// validPort reports whether s is a TCP port in digits, 1 to 65535.
func validPort(s string) bool {
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

// healthHeaders reads one "Name: value" a line. A problem names the line
// and, for a bad name, the name; never the value, which is a secret.
func (p *parser) healthHeaders(name string) http.Header {
	lines := headerLines(p.str(name))
	if len(lines) == 0 {
		return nil
	}
	if len(lines) > MaxHealthHeaders {
		p.addf("%s has %d headers: give at most %d", name, len(lines), MaxHealthHeaders)
		return nil
	}
	h := http.Header{}
	for _, l := range lines {
		at := fmt.Sprintf("%s line %d", name, l.n)
		switch {
		case !l.colon:
			p.addf("%s has no colon: write one header a line as Name: value (for example Authorization: Bearer ${{ secrets.HEALTH_TOKEN }})", at)
		case !isToken(l.name):
			p.addf("%s: header name %s is not valid: use letters, digits and - (for example X-Health-Token)", at, shown(l.name))
		case len(l.name)+len(l.value) > MaxHealthHeaderLen:
			p.addf("%s: header %s is %d bytes long: use at most %d", at, l.name, len(l.name)+len(l.value), MaxHealthHeaderLen)
		case strings.ContainsFunc(l.value, unicode.IsControl):
			p.addf("%s: the value of header %s contains a control character: give it on one line, without tabs or other control characters", at, l.name)
		case reservedHeaders[http.CanonicalHeaderKey(l.name)] != "":
			p.addf("%s: header %s cannot be set here: %s", at, http.CanonicalHeaderKey(l.name), reservedHeaders[http.CanonicalHeaderKey(l.name)])
		default:
			h.Add(l.name, l.value)
		}
	}
	return h
}

// headerLine is one non-blank line of health-headers.
type headerLine struct {
	n           int // 1-based, counting blank lines, as the user sees them
	name, value string
	colon       bool
}

// headerLines splits health-headers into its non-blank lines, trimmed.
func headerLines(v string) []headerLine {
	var out []headerLine
	for i, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, colon := strings.Cut(line, ":")
		out = append(out, headerLine{n: i + 1, name: strings.TrimSpace(name), value: strings.TrimSpace(value), colon: colon})
	}
	return out
}

// headerSecrets are the values of health-headers to mask: every value,
// and a whole line that has no colon (a value whose name was forgotten).
func headerSecrets(v string) []string {
	var out []string
	for _, l := range headerLines(v) {
		switch {
		case !l.colon:
			out = append(out, l.name)
		case l.value != "":
			out = append(out, l.value)
		}
	}
	return out
}

// isToken reports whether s is an HTTP field name (RFC 9110's token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// shown quotes a value for a message, cut to its first characters: a
// 100 kB input is named, not repeated.
func shown(v string) string {
	if len(v) <= maxShownInputPrefix {
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("%q…", strings.ToValidUTF8(v[:maxShownInputPrefix], ""))
}

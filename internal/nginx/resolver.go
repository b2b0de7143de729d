package nginx

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// directive is one nginx directive: its name, its arguments, and the
// blocks it sits in (innermost last).
type directive struct {
	name   string
	args   []string
	blocks []string
}

// parseDirectives splits an nginx config fragment into directives. It
// knows just enough of nginx's syntax (comments, quotes, blocks) for the
// checks below; nginx -t stays the judge of validity.
func parseDirectives(text string) []directive {
	var (
		out    []directive
		cur    []string
		blocks []string
		tok    strings.Builder
		inTok  bool
		quote  byte
	)
	flush := func() {
		if inTok {
			cur = append(cur, tok.String())
			tok.Reset()
			inTok = false
		}
	}
	end := func() {
		flush()
		if len(cur) > 0 {
			out = append(out, directive{name: cur[0], args: cur[1:], blocks: append([]string(nil), blocks...)})
		}
	}
	s := stripComments([]byte(text))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(s) {
				i++
				tok.WriteByte(s[i])
			} else if c == quote {
				quote = 0
			} else {
				tok.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote, inTok = c, true
		case c == ';':
			end()
			cur = nil
		case c == '{':
			end()
			name := ""
			if len(cur) > 0 {
				name = cur[0]
			}
			blocks = append(blocks, name)
			cur = nil
		case c == '}':
			end()
			cur = nil
			if len(blocks) > 0 {
				blocks = blocks[:len(blocks)-1]
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			flush()
		default:
			tok.WriteByte(c)
			inTok = true
		}
	}
	return out
}

// runtimeHost is a host name nginx resolves when a request comes in.
type runtimeHost struct {
	host string
	in   string // the directive, for the message
}

// runtimeHosts finds the host names in include that nginx resolves per
// request rather than at load time: a URL in a variable (the seed's set
// $service_url, passed to proxy_pass $service_url) and a proxy_pass or
// grpc_pass whose URL holds a variable. Such names need a resolver
// directive, because nginx does not use the system resolver at request
// time. A server in an upstream block and a proxy_pass without variables
// are resolved when the config is loaded (at every reload), and an IP
// address needs no resolving, so neither is returned; nor is a name that
// is an upstream block defined in include or in config.
func runtimeHosts(include []byte, config string) []runtimeHost {
	ds := parseDirectives(string(include))
	upstreams := map[string]bool{}
	for _, d := range append(ds, parseDirectives(config)...) {
		if d.name == "upstream" && len(d.args) > 0 {
			upstreams[d.args[0]] = true
		}
	}
	var hosts []runtimeHost
	for _, d := range ds {
		var raw string
		switch {
		case d.name == "set" && len(d.args) == 2:
			raw = d.args[1]
		case (d.name == "proxy_pass" || d.name == "grpc_pass") && len(d.args) == 1 && strings.Contains(d.args[0], "$"):
			raw = d.args[0]
		default:
			continue
		}
		host, ok := urlHost(raw)
		if !ok || upstreams[host] || strings.Contains(host, "$") || net.ParseIP(strings.Trim(host, "[]")) != nil {
			continue
		}
		hosts = append(hosts, runtimeHost{host: host, in: d.name + " " + strings.Join(d.args, " ")})
	}
	return hosts
}

// urlHost returns the host of an http(s) or grpc(s) URL.
func urlHost(raw string) (string, bool) {
	scheme, rest, ok := strings.Cut(raw, "://")
	switch strings.ToLower(scheme) {
	case "http", "https", "grpc", "grpcs":
	default:
		return "", false
	}
	if !ok || strings.HasPrefix(rest, "unix:") {
		return "", false
	}
	hostport := rest
	if i := strings.IndexAny(hostport, "/?#"); i >= 0 {
		hostport = hostport[:i]
	}
	u, err := url.Parse("http://" + hostport)
	if err != nil || u.Hostname() == "" {
		// A variable in the port ("host:$port") defeats url.Parse.
		host, _, _ := strings.Cut(hostport, ":")
		return host, host != ""
	}
	return u.Hostname(), true
}

// hasResolver reports whether text defines a resolver anywhere. The scope
// (http, server or location) is not checked: the warning is for the
// common mistake of having none at all.
func hasResolver(text string) bool {
	for _, d := range parseDirectives(text) {
		if d.name == "resolver" {
			return true
		}
	}
	return false
}

// ResolverWarnings returns one warning for each host name in include that
// nginx must resolve at request time when neither include nor config (the
// full configuration as nginx -T prints it; "" when unknown) defines a
// resolver: nginx -t passes such a config, and then every request fails
// with 502 "no resolver defined to resolve <host>".
func ResolverWarnings(include []byte, config string) []string {
	hosts := runtimeHosts(include, config)
	if len(hosts) == 0 || hasResolver(string(include)) || hasResolver(config) {
		return nil
	}
	const fix = "(for nginx on a user network, Docker's DNS: resolver 127.0.0.11 valid=10s;), " +
		"or use {{.ContainerIP}} or an upstream block in nginx-include-template, whose names nginx resolves when it loads the config"
	var warnings []string
	for _, h := range hosts {
		w := fmt.Sprintf("the include's %q names host %s, which nginx resolves for each request and only through a resolver directive", h.in, h.host)
		if config == "" {
			w += "; nginx's full config could not be read (nginx -T) to check for one: make sure nginx has one " + fix
		} else {
			w += fmt.Sprintf(", and nginx's config has none: requests will fail with 502 (no resolver defined to resolve %s); add one to nginx's http block %s", h.host, fix)
		}
		warnings = append(warnings, w)
	}
	return warnings
}

// checkResolver warns about host names in the new include that nginx
// cannot resolve without a resolver. It reads nginx's full config with the
// test command's -T twin, and only when the include has such a name, so
// that the common include with an IP address costs nothing.
func (s *Switcher) checkResolver(ctx context.Context, include []byte) {
	if len(runtimeHosts(include, "")) == 0 || hasResolver(string(include)) {
		return
	}
	config := ""
	if cmd, ok := dumpCommand(s.TestCmd); ok {
		if res, err := s.run(ctx, cmd); err == nil && strings.TrimSpace(res.Stdout) != "" {
			config = res.Stdout
		}
	}
	for _, w := range ResolverWarnings(include, config) {
		s.warnf("%s", w)
	}
}

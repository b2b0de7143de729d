package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Fleet is where the deploy runs: this host when Hosts is empty (as
// always before), else each of a static list of Docker endpoints, one
// after the other, with the same inputs on every host.
type Fleet struct {
	Hosts []Endpoint
	// SSHKey is the private key for ssh:// hosts (PEM text), KnownHosts
	// their keys in known_hosts format; a host key is always verified.
	SSHKey     string
	KnownHosts string
	// TLS is the client certificate for tcp:// hosts (PEM texts).
	TLS TLS
	// MaxParallel is how many hosts deploy at the same time.
	MaxParallel int
	// Failure is what a failed host does to the hosts already switched.
	Failure FleetFailure
}

// Enabled reports whether the deploy runs on a list of hosts.
func (f Fleet) Enabled() bool { return len(f.Hosts) > 0 }

// TLS is the client side of a Docker daemon's --tlsverify.
type TLS struct {
	CA, Cert, Key string
}

// FleetFailure is what happens to the hosts already switched when a host
// fails.
type FleetFailure string

// The fleet failure policies.
const (
	// FleetRollback returns the switched hosts to their previous color.
	FleetRollback FleetFailure = "rollback"
	// FleetStop leaves them on the new version and starts no more hosts.
	FleetStop FleetFailure = "stop"
)

// Endpoint is one Docker endpoint of a fleet: ssh://user@host[:port]
// (the daemon's socket reached through the SSH connection) or
// tcp://host:port (the daemon's TLS port).
type Endpoint struct {
	Raw    string // as written in the hosts input
	Scheme string // "ssh" or "tcp"
	User   string // ssh only
	Host   string // a name or an IP address, without brackets
	Port   int
}

// Address is host:port, for dialling.
func (e Endpoint) Address() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// String names the endpoint in logs and outputs: user@host:port for SSH,
// host:port for TCP. It never holds a secret: the hosts input has none.
func (e Endpoint) String() string {
	if e.Scheme == "ssh" {
		return e.User + "@" + e.Address()
	}
	return e.Address()
}

// Default ports: SSH's, and Docker's TLS port.
const (
	DefaultSSHPort = 22
	DefaultTLSPort = 2376
)

func (p *parser) fleet() Fleet {
	f := Fleet{
		SSHKey:     p.str("ssh-private-key"),
		KnownHosts: p.str("ssh-known-hosts"),
		TLS: TLS{
			CA:   p.str("docker-tls-ca"),
			Cert: p.str("docker-tls-cert"),
			Key:  p.str("docker-tls-key"),
		},
		MaxParallel: p.positiveInt("max-parallel"),
		Failure:     FleetFailure(p.choice("fleet-failure", string(FleetRollback), string(FleetStop))),
	}
	seen := map[string]bool{}
	var ssh, tcp bool
	for _, line := range hostLines(p.str("hosts")) {
		e, problem := ParseEndpoint(line)
		if problem != "" {
			p.addf("hosts: %s", problem)
			continue
		}
		if seen[e.String()] {
			p.addf("hosts: %s is listed twice", e.String())
			continue
		}
		seen[e.String()] = true
		ssh = ssh || e.Scheme == "ssh"
		tcp = tcp || e.Scheme == "tcp"
		f.Hosts = append(f.Hosts, e)
	}
	if ssh && f.SSHKey == "" {
		p.addf("hosts lists ssh:// endpoints but ssh-private-key is empty: set it from a secret holding the deploy user's private key (for example ${{ secrets.DEPLOY_SSH_KEY }})")
	}
	if ssh && f.KnownHosts == "" {
		p.addf("hosts lists ssh:// endpoints but ssh-known-hosts is empty: host keys are always verified; set it from a secret holding the hosts' lines of a known_hosts file (ssh-keyscan -p PORT HOST prints them; check them once by hand)")
	}
	if tcp && (f.TLS.CA == "" || f.TLS.Cert == "" || f.TLS.Key == "") {
		var missing []string
		for _, in := range []struct{ name, v string }{{"docker-tls-ca", f.TLS.CA}, {"docker-tls-cert", f.TLS.Cert}, {"docker-tls-key", f.TLS.Key}} {
			if in.v == "" {
				missing = append(missing, in.name)
			}
		}
		p.addf("hosts lists tcp:// endpoints but %s is empty: a daemon's TCP port is only used with TLS client certificates (dockerd --tlsverify); set docker-tls-ca, docker-tls-cert and docker-tls-key from secrets holding the PEM texts", strings.Join(missing, ", "))
	}
	return f
}

// hostLines are the lines of the hosts input that name an endpoint: blank
// lines and # comments are skipped.
func hostLines(v string) []string {
	var out []string
	for _, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// FleetRequested reports whether the hosts input names any endpoint, read
// as Parse reads it: the process must then stay where it is and
// orchestrate (cli.RoleFleet), even before Parse has run.
func FleetRequested(getenv Getenv) bool {
	return len(hostLines(reader{getenv: getenv}.get("hosts"))) > 0
}

// ParseEndpoint reads one line of the hosts input. problem says what is
// wrong, naming the line and the forms that are valid.
func ParseEndpoint(s string) (Endpoint, string) {
	const valid = "use ssh://user@host[:port] or tcp://host:port"
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return Endpoint{}, fmt.Sprintf("%q is not a Docker endpoint: %s", s, valid)
	}
	if _, has := u.User.Password(); has {
		// Not quoted: the line holds a password.
		return Endpoint{}, fmt.Sprintf("an endpoint of host %s holds a password, which would be printed with the host: %s, and authenticate with ssh-private-key", u.Hostname(), valid)
	}
	e := Endpoint{Raw: s, Scheme: strings.ToLower(u.Scheme), Host: u.Hostname()}
	if e.Host == "" {
		return Endpoint{}, fmt.Sprintf("%q names no host: %s", s, valid)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, fmt.Sprintf("%q has a path, query or fragment, which a Docker endpoint does not take: %s", s, valid)
	}
	switch e.Scheme {
	case "ssh":
		e.Port = DefaultSSHPort
		if u.User == nil || u.User.Username() == "" {
			return Endpoint{}, fmt.Sprintf("%q names no user: write ssh://user@host (the user must be allowed to use the host's Docker socket)", s)
		}
		e.User = u.User.Username()
	case "tcp":
		e.Port = DefaultTLSPort
		if u.User != nil {
			return Endpoint{}, fmt.Sprintf("%q has a user, which a tcp:// endpoint does not take: %s", s, valid)
		}
	default:
		return Endpoint{}, fmt.Sprintf("%q has scheme %q: %s", s, u.Scheme, valid)
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return Endpoint{}, fmt.Sprintf("%q has port %q, which is not a TCP port (1 to 65535)", s, port)
		}
		e.Port = n
	}
	return e, ""
}

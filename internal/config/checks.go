package config

// Checks of the inputs that cross the trust boundary into names and
// commands: the upstream host nginx is told to reach, the image a service
// runs, and the project name every container, network and lock file is
// named after.

import (
	"errors"
	"net/netip"
	"strings"
	"unicode"

	"github.com/distribution/reference"
)

// MaxProjectNameLen caps project-name. Containers are named
// <project-name>-green-<service>-1, and nginx and Docker's DNS reach a
// container by that name, which as a DNS label holds at most 63
// characters; 48 leaves room for the color and a short service name. (The
// lock file, bluegreen-<project-name>.lock, would fail at 241.)
const MaxProjectNameLen = 48

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

// image checks the image input as Docker reads a reference. The reference
// library's own messages print the value unquoted, so they are replaced by
// a reason here.
func (p *parser) image(name string) string {
	v := p.str(name)
	if v == "" {
		return ""
	}
	if _, err := reference.ParseNormalizedNamed(v); err != nil {
		p.addf("%s %q is not an image reference: %s; use [registry/]repository[:tag][@digest], for example ghcr.io/acme/app:1.2.3", name, v, referenceProblem(v, err))
	}
	return v
}

func referenceProblem(v string, err error) string {
	switch {
	case strings.ContainsFunc(v, unicode.IsControl):
		return "it contains a control character such as a newline"
	case strings.ContainsFunc(v, unicode.IsSpace):
		return "it contains white space"
	case errors.Is(err, reference.ErrNameTooLong):
		return err.Error()
	case strings.Contains(err.Error(), "must be lowercase"):
		return "the repository must be lower case (a tag may have capitals)"
	case strings.Contains(err.Error(), "64-byte hexadecimal"):
		return "that is an image ID, not a name"
	}
	return "it is not in Docker's reference format"
}

// projectNameLength refuses a project name longer than MaxProjectNameLen.
// from is what a derived name came from ("repository", "directory"), and
// empty for a name set in project-name: a derived name is fixed by setting
// project-name, not by shortening it.
func (p *parser) projectNameLength(v, from string) {
	if len(v) <= MaxProjectNameLen {
		return
	}
	example := strings.TrimRight(v[:MaxProjectNameLen], "-_")
	if from != "" {
		p.addf("project-name is not set, and the name derived from the %s, %q, is %d characters long: set project-name to at most %d characters (for example %q), because containers are named <project-name>-green-<service>-1 and a name DNS resolves holds at most 63",
			from, v, len(v), MaxProjectNameLen, example)
		return
	}
	p.addf("project-name %q is %d characters long: use at most %d (for example %q), because containers are named <project-name>-green-<service>-1 and a name DNS resolves holds at most 63",
		v, len(v), MaxProjectNameLen, example)
}

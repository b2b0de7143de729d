// Package dockerdiag explains a failed connection to the Docker daemon in
// terms of what to change: a diagnosis, not a client. The Docker client's
// own message ("Cannot connect to the Docker daemon at
// unix:///var/run/docker.sock. Is the docker daemon running?") drops the
// cause, and a newcomer cannot tell a stopped daemon from a runner user
// outside the docker group or a DOCKER_HOST that points elsewhere; each of
// those has a different fix.
package dockerdiag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/docker/docker/client"
)

// Default is the daemon address the Docker client uses when DOCKER_HOST is
// unset.
const Default = "unix:///var/run/docker.sock"

// Host returns the daemon address to use: DOCKER_HOST, or Default.
func Host(dockerHost string) string {
	if dockerHost != "" {
		return dockerHost
	}
	return Default
}

// Unreachable explains a failed connection to the daemon at host (as Host
// returned it). fromEnv says the address came from DOCKER_HOST; where is
// appended to the first sentence ("from the action container"), and may
// be empty. The result reads "failed to reach the Docker daemon at …: …;
// <fix>".
func Unreachable(host string, fromEnv bool, where string, err error) error {
	origin := "DOCKER_HOST is unset, so the default"
	if fromEnv {
		origin = "from DOCKER_HOST"
	}
	at := fmt.Sprintf("%s (%s)", host, origin)
	if where != "" {
		at += " " + where
	}
	return fmt.Errorf("failed to reach the Docker daemon at %s: %w; %s", at, err, fix(host, fromEnv, err))
}

// fix is what to do about err.
func fix(host string, fromEnv bool, err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "it did not answer in time: check that the daemon is not hung (`docker info` on the host) and that DOCKER_HOST names the right daemon"
	}
	u, perr := url.Parse(host)
	if perr != nil || u.Scheme == "" {
		return "DOCKER_HOST must be a URL such as unix:///var/run/docker.sock or tcp://host:2376"
	}
	switch u.Scheme {
	case "unix":
		return unixFix(u.Path, fromEnv, err)
	case "tcp", "http", "https":
		return fmt.Sprintf("nothing answered at %s: check that the daemon listens there (dockerd -H), and for TLS that DOCKER_TLS_VERIFY and DOCKER_CERT_PATH are set; or unset DOCKER_HOST to use the local socket %s", u.Host, Default)
	default:
		return fmt.Sprintf("DOCKER_HOST scheme %q is not supported here; use the daemon's unix socket (%s) or tcp://", u.Scheme, Default)
	}
}

// unixFix looks at the socket itself, since the client's error does not
// say whether it is missing, unreadable or dead.
func unixFix(path string, fromEnv bool, err error) string {
	if errors.Is(err, syscall.EACCES) || strings.Contains(err.Error(), "permission denied") {
		return fmt.Sprintf("the user this runs as (uid %d) may not use %s: add the runner's user to the docker group "+
			"(`sudo usermod -aG docker <runner user>`, then restart the runner service so it picks the group up); "+
			"the docker group is root-equivalent on this host, see the README's requirements", os.Getuid(), path)
	}
	fi, serr := os.Stat(path)
	switch {
	case errors.Is(serr, fs.ErrNotExist) && fromEnv:
		return fmt.Sprintf("there is no socket at %s: fix DOCKER_HOST, or unset it to use %s", path, Default)
	case errors.Is(serr, fs.ErrNotExist):
		return fmt.Sprintf("there is no socket at %s: is Docker Engine installed and running (`sudo systemctl start docker`)? If it listens elsewhere, set DOCKER_HOST to that address", path)
	case errors.Is(serr, fs.ErrPermission):
		return fmt.Sprintf("the user this runs as (uid %d) may not even look at %s: add the runner's user to the docker group (root-equivalent; see the README's requirements)", os.Getuid(), path)
	case serr != nil:
		return fmt.Sprintf("%s cannot be checked: %v", path, serr)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Sprintf("%s is not a socket: point DOCKER_HOST at the daemon's socket", path)
	default:
		return fmt.Sprintf("the socket %s exists but no daemon answers on it: start Docker (`sudo systemctl start docker`) and check `sudo journalctl -u docker`", path)
	}
}

// Unanswered reports whether err says that the daemon did not answer at
// all: the connection to it failed or dropped (a daemon stopped or
// restarting, a network gone). Nothing follows from such an error about
// the daemon's settings, so it gets no hint about them (rootless Docker,
// userns-remap), and a caller may try again once the daemon is back.
func Unanswered(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if client.IsErrConnectionFailed(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		return true
	}
	// Errors of a stream that broke (an attach, a wait) do not always
	// keep their cause's type on the way up.
	msg := err.Error()
	for _, s := range []string{"connection refused", "connection reset", "broken pipe", "unexpected EOF", "use of closed network connection", "Cannot connect to the Docker daemon", "error during connect"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Package hosthelper moves the deploy out of the action container into the
// host's context (the "hoist"). A container action on a self-hosted runner
// gets the Docker socket and the runner's /github/* directories, and sits
// on a bridge network: the host's nginx, its /etc/nginx, its 127.0.0.1
// ports and the host paths of the workspace are all out of reach. Rather
// than translate each of these, the action container (the launcher) starts
// one helper container from its own image with the host's PID and network
// namespaces and the host's root at /host; the helper chroots into /host
// and runs the very same deploy as a binary started on the host would.
//
// It holds what each side needs: Launch for the launcher; the Handover it
// writes to the helper's stdin; Receive and an Arrival's methods for the
// helper (chroot into the host, enter the workspace, or hold a fleet's lock
// of the host); and Helper, the container itself, which a fleet's runner
// starts on each of its hosts too. Which role a process plays is decided
// once, in package cli.
package hosthelper

import (
	"os"
	"strings"
)

// Environment variables the launcher sets for the helper, and the one a
// user may set to turn hoisting off.
const (
	// EnvRole is "helper" in the helper container.
	EnvRole = "BLUEGREEN_HOIST_ROLE"
	// EnvRoot is where the host's root is mounted in the helper.
	EnvRoot = "BLUEGREEN_HOIST_ROOT"
	// EnvCwd is the helper's working directory after the chroot, a host path.
	EnvCwd = "BLUEGREEN_HOIST_CWD"
	// EnvParent is the launcher's container id; the helper stops its deploy
	// when that container stops, so a launcher killed outright (docker rm
	// -f, act removing its step container) cannot leave a deploy running.
	EnvParent = "BLUEGREEN_HOIST_PARENT"
	// EnvHoist set to "off" deploys from the action container itself, for
	// a user who gives the container the host's namespaces another way.
	EnvHoist = "BLUEGREEN_HOIST"
)

// Labels on the helper container, so that `docker ps --filter
// label=io.github.bluegreen-action.hoist.parent` shows which action
// container started it.
const (
	LabelParent    = "io.github.bluegreen-action.hoist.parent"
	LabelWorkspace = "io.github.bluegreen-action.hoist.workspace"
)

const (
	roleHelper = "helper"
	// hostMount is where the helper sees the host's root before the chroot.
	hostMount = "/host"
	// hostPATH is the helper's PATH after the chroot: the host's usual
	// directories, so `nginx` resolves as it does in the seed's deploy.sh.
	hostPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// dockerEnvFile is the file Docker creates in every container.
	dockerEnvFile = "/.dockerenv"
)

// IsHelper reports whether this process is a helper container: its own
// environment says so (EnvRole), set by the launcher or a fleet's runner
// that started it.
func IsHelper(env map[string]string) bool { return env[EnvRole] == roleHelper }

// MayLaunch reports whether this process may be an action container that
// still has to leave for the host: a GitHub Actions step, with hoisting
// not turned off, inside a Docker container (inDocker, normally InDocker,
// asked last). Whether it is in one of this daemon's containers is
// settled by Launch, which finds it.
func MayLaunch(env map[string]string, inDocker func() bool) bool {
	if env["GITHUB_ACTIONS"] != "true" || strings.EqualFold(env[EnvHoist], "off") {
		return false
	}
	return inDocker()
}

// InDocker reports whether this process runs in a Docker container, by the
// file Docker creates in every container.
func InDocker() bool {
	_, err := os.Stat(dockerEnvFile)
	return err == nil
}

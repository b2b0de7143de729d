// Package hosthelper moves the deploy out of the action container into the
// host's context (the "hoist"). A container action on a self-hosted runner gets the
// Docker socket and the runner's /github/* directories, and sits on a
// bridge network: the host's nginx, its /etc/nginx, its 127.0.0.1 ports
// and the host paths of the workspace are all out of reach. Rather than
// translate each of these, the action container (the launcher) starts one
// helper container from its own image with the host's PID and network
// namespaces and the host's root at /host; the helper chroots into /host
// and runs the very same deploy as a binary started on the host would.
//
// Run decides which of three roles this process plays: the launcher (in an
// action container, not yet hoisted), the helper (hoisted: chroot first,
// then deploy), or neither (a binary or test on a host: deploy here).
package hosthelper

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/config"
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

// exitFailed is the exit code of a hoist that failed (cli.ExitFailed).
const exitFailed = 1

// Options are the process's surroundings, as cli.Options hands them on.
type Options struct {
	Environ []string
	Cwd     string
	Stdout  io.Writer
	// Stdin is where the helper reads its Handover from.
	Stdin io.Reader
	// Stay keeps the deploy in this process even in an action container:
	// a fleet rollout runs its deploys on the hosts, not on this one.
	Stay bool
}

// Outcome tells cli.Main how to go on.
type Outcome struct {
	// Done means the deploy ran elsewhere (in the helper) or the hoist
	// failed; Code is then the process's exit code.
	Done bool
	Code int
	// Ctx and Cwd are what the deploy in this process uses when Done is
	// false. In the helper, Ctx also ends when the launcher goes away, and
	// Cwd is the host path of the launcher's working directory.
	Ctx context.Context
	Cwd string
	// Env, in the helper, is the environment the deploy runs with: the
	// one the launcher handed over, not the process's (see Handover). It
	// is nil elsewhere: the process's own environment is the deploy's.
	Env map[string]string
	// ResultToken, in a fleet's helper, asks for the deploy's result as a
	// TokenLine at the end (see Handover.ResultToken); Err is a failure of
	// the hoist itself to put in that result when Done.
	ResultToken string
	Err         error
}

// Run plays this process's role. In the launcher it returns once the
// helper has finished (Done); in the helper it chroots into the host and
// returns the context and directory to deploy with; anywhere else it
// returns at once and changes nothing.
func Run(ctx context.Context, opts Options) Outcome {
	env := config.EnvMap(opts.Environ)
	switch {
	case env[EnvRole] == roleHelper:
		return enter(ctx, env, opts)
	case opts.Stay || !mayLaunch(env):
		return Outcome{Ctx: ctx, Cwd: opts.Cwd}
	}
	return launch(ctx, env, opts)
}

// mayLaunch reports whether this process may be an action container that
// still has to leave for the host: a GitHub Actions step inside a Docker
// container. Whether it is one is settled by finding the container.
func mayLaunch(env map[string]string) bool {
	if env["GITHUB_ACTIONS"] != "true" || strings.EqualFold(env[EnvHoist], "off") {
		return false
	}
	_, err := os.Stat(dockerEnvFile)
	return err == nil
}

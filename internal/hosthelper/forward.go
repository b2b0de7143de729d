package hosthelper

import "strings"

// Which of the launcher's environment variables reach the deploy in the
// helper. They travel in the Handover, never in the helper's Env, and even
// there only these:
//
//   - every INPUT_* (the action's inputs, the registry password among
//     them: the deploy needs it for pulls);
//   - the runner's variables the deploy reads (runnerRead) and the ones
//     that only describe the run, which compose files commonly interpolate
//     into an image tag or a label (runnerDescribe). None is a secret;
//   - CI, ACT and the BLUEGREEN_* settings, but not the hoist's own;
//   - the user's own variables, for compose interpolation: everything
//     outside the runner's namespaces (GITHUB_*, RUNNER_*, ACTIONS_*) and
//     the few variables that describe the action container itself.
//
// So the runner's credentials never leave the action container:
// ACTIONS_RUNTIME_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN and the
// ACTIONS_*_URL endpoints they unlock, GITHUB_TOKEN, and whatever the
// runner adds to its namespaces in the future, until it is listed here.
//
// The user's variables are passed whole rather than computed from the
// compose files: compose-go resolves variables on several paths
// (interpolation of each compose file and of included ones, env_file
// values, `environment:` entries without a value, COMPOSE_* settings),
// and a variable missed by a second reading of those files would be
// silently empty in the deployed container. A user puts a variable on the
// step's env: precisely for the deploy.

// runnerRead are the runner's variables the deploy reads: the report's
// Actions mode and file commands, the workspace, the run's identity for
// the lock record and the summary.
var runnerRead = map[string]bool{
	"GITHUB_ACTIONS":      true,
	"GITHUB_WORKSPACE":    true,
	"GITHUB_OUTPUT":       true,
	"GITHUB_STEP_SUMMARY": true,
	"GITHUB_STATE":        true,
	"GITHUB_REPOSITORY":   true,
	"GITHUB_RUN_ID":       true,
	"GITHUB_SHA":          true,
	"GITHUB_ACTOR":        true,
	"GITHUB_WORKFLOW":     true,
}

// runnerDescribe are the runner's variables that describe the run and
// that a compose file may interpolate (image: app:${GITHUB_REF_NAME}).
var runnerDescribe = map[string]bool{
	"GITHUB_REF":              true,
	"GITHUB_REF_NAME":         true,
	"GITHUB_REF_TYPE":         true,
	"GITHUB_HEAD_REF":         true,
	"GITHUB_BASE_REF":         true,
	"GITHUB_EVENT_NAME":       true,
	"GITHUB_JOB":              true,
	"GITHUB_RUN_NUMBER":       true,
	"GITHUB_RUN_ATTEMPT":      true,
	"GITHUB_REPOSITORY_OWNER": true,
	"GITHUB_SERVER_URL":       true,
	"GITHUB_TRIGGERING_ACTOR": true,
	"GITHUB_WORKFLOW_REF":     true,
	"GITHUB_WORKFLOW_SHA":     true,
	"RUNNER_OS":               true,
	"RUNNER_ARCH":             true,
	"RUNNER_NAME":             true,
	"RUNNER_DEBUG":            true,
}

// runnerNamespaces are the prefixes the runner sets its own variables
// under. Only the listed ones of them are forwarded.
var runnerNamespaces = []string{"GITHUB_", "RUNNER_", "ACTIONS_"}

// containerOwn describe the action container itself (or are set for the
// helper by the launcher) and mean nothing on the host.
var containerOwn = map[string]bool{
	"HOSTNAME": true, "PATH": true, "HOME": true, "DOCKER_HOST": true,
	EnvRole: true, EnvRoot: true, EnvCwd: true, EnvParent: true, EnvHoist: true,
}

// Forwarded reports whether the variable named k reaches the deploy in
// the helper (see the rules above). DOCKER_HOST is not: the launcher
// hands over the host's name for its socket instead.
func Forwarded(k string) bool {
	switch {
	case k == "" || containerOwn[k]:
		return false
	case strings.HasPrefix(k, "INPUT_"):
		return true
	case runnerRead[k] || runnerDescribe[k]:
		return true
	}
	for _, p := range runnerNamespaces {
		if strings.HasPrefix(k, p) {
			return false
		}
	}
	return true
}

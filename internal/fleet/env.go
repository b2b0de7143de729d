package fleet

import (
	"os"
	"regexp"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
)

// fleetInputs are the inputs only the runner reads: none of them, the
// SSH key least of all, goes to a host.
var fleetInputs = map[string]bool{
	"INPUT_HOSTS": true, "INPUT_SSH-PRIVATE-KEY": true, "INPUT_SSH-KNOWN-HOSTS": true,
	"INPUT_DOCKER-TLS-CA": true, "INPUT_DOCKER-TLS-CERT": true, "INPUT_DOCKER-TLS-KEY": true,
	"INPUT_MAX-PARALLEL": true, "INPUT_FLEET-FAILURE": true, "INPUT_FLEET-CANARY": true,
}

// runIdentity are the runner's variables a host's deploy reads to name
// the run in its lock record and history.
var runIdentity = map[string]bool{
	"GITHUB_REPOSITORY": true, "GITHUB_RUN_ID": true, "GITHUB_SHA": true, "GITHUB_ACTOR": true, "GITHUB_WORKFLOW": true,
}

// composeSettings are the variables compose itself reads from the
// environment, besides interpolation.
var composeSettings = map[string]bool{
	"COMPOSE_PROFILES": true, "COMPOSE_DISABLE_ENV_FILE": true,
}

// HostEnv is the environment a host's deploy runs with: the inputs (the
// fleet's own removed, those that name files pointed at the shipped
// copies in dir), the run's identity, and of the other variables only
// those the shipped compose and env files name (b.Vars), which
// hosthelper.Forwarded must let through too: a job's secret meant for another
// step stays on the runner. The host's deploy runs outside Actions (its
// log comes back through the runner, prefixed), writes its step outputs
// and summary to /dev/null (its result comes back as data) and keeps the
// previous color for a rollback.
func HostEnv(runner map[string]string, cfg *config.Config, b *Bundle, dir string, mode config.Mode) map[string]string {
	env := map[string]string{}
	for k, v := range runner {
		if !hosthelper.Forwarded(k) || fleetInputs[k] {
			continue
		}
		if strings.HasPrefix(k, "INPUT_") || runIdentity[k] || composeSettings[k] || b.Vars[k] {
			env[k] = v
		}
	}
	for _, k := range []string{"GITHUB_ACTIONS", "GITHUB_STATE", "INPUT_WORKING-DIRECTORY", "INPUT_COMPOSE-FILE", "INPUT_BLUE-COMPOSE-FILE", "INPUT_GREEN-COMPOSE-FILE"} {
		delete(env, k)
	}
	env["GITHUB_WORKSPACE"] = dir
	// The host's own outputs and summary would only repeat its result.
	env["GITHUB_OUTPUT"] = os.DevNull
	env["GITHUB_STEP_SUMMARY"] = os.DevNull
	env["DOCKER_HOST"] = "unix://" + RemoteSocket
	env["INPUT_MODE"] = string(mode)
	env["INPUT_PROJECT-NAME"] = cfg.ProjectName
	env["INPUT_KEEP-PREVIOUS"] = "true"
	if cfg.SingleFile {
		env["INPUT_COMPOSE-FILE"] = strings.Join(b.Compose[color.Blue], "\n")
	} else {
		env["INPUT_BLUE-COMPOSE-FILE"] = strings.Join(b.Compose[color.Blue], "\n")
		env["INPUT_GREEN-COMPOSE-FILE"] = strings.Join(b.Compose[color.Green], "\n")
	}
	env["INPUT_ENV-FILE"] = b.EnvFile
	return env
}

// varRef finds the variables a compose or env file interpolates: $NAME
// and ${NAME...} (with a default or an error after the name), skipping
// $$, compose's escaped dollar.
var varRef = regexp.MustCompile(`\$(?:\$|\{?([A-Za-z_][A-Za-z0-9_]*))`)

// bareName is a line of an env file, or an entry of environment:, that
// names a variable without a value: compose takes its value from the
// environment.
var bareName = regexp.MustCompile(`^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*$`)

// addVars notes the variables text names: every interpolation, and with
// envFile the lines that are a bare name.
func (c *collector) addVars(text string, envFile bool) {
	for _, m := range varRef.FindAllStringSubmatch(text, -1) {
		if m[1] != "" {
			c.b.Vars[m[1]] = true
		}
	}
	if !envFile {
		return
	}
	for _, line := range strings.Split(text, "\n") {
		if m := bareName.FindStringSubmatch(strings.TrimSuffix(line, "\r")); m != nil {
			c.b.Vars[m[1]] = true
		}
	}
}

// addBareVars notes the variables a compose document takes from the
// environment without interpolation: environment: entries without a
// value, and secrets or configs read from an environment variable.
func (c *collector) addBareVars(doc map[string]any) {
	services, _ := doc["services"].(map[string]any)
	for _, raw := range services {
		svc, _ := raw.(map[string]any)
		switch env := svc["environment"].(type) {
		case []any:
			for _, e := range env {
				if s, ok := e.(string); ok && !strings.Contains(s, "=") {
					c.b.Vars[strings.TrimSpace(s)] = true
				}
			}
		case map[string]any:
			for k, v := range env {
				if v == nil {
					c.b.Vars[k] = true
				}
			}
		}
	}
	for _, top := range []string{"configs", "secrets"} {
		entries, _ := doc[top].(map[string]any)
		for _, raw := range entries {
			if e, ok := raw.(map[string]any); ok {
				if name, ok := e["environment"].(string); ok {
					c.b.Vars[name] = true
				}
			}
		}
	}
}

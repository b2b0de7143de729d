package config

import (
	"sort"
	"strings"
)

// Input is one action input: its name as action.yml declares it, and the
// default Parse applies when the input is empty, written as a user would
// write it. action_test.go holds action.yml to this table field by field,
// so the documented default is the applied one.
type Input struct {
	Name    string
	Default string
}

// Inputs is every input Parse reads, in action.yml's order. The defaults
// follow the seed's deploy.sh where it had one (ports, include path, probes
// 2 s apart, nginx -t and reload) and kamal-proxy's otherwise. The health
// budget is the exception: deploy.sh allowed about 40 s (a 10 s sleep, then
// 15 probes 2 s apart, each after its sleep), so 15 probes from the first
// second would fail an app that deploy.sh deployed; 30 probes 2 s apart
// (60 s) give a Spring Boot app on a small instance room to start.
var Inputs = []Input{
	{Name: "mode", Default: string(ModeDeploy)},
	{Name: "working-directory", Default: ""},
	{Name: "project-name", Default: ""},
	{Name: "compose-file", Default: "docker-compose.yml"},
	{Name: "blue-compose-file", Default: ""},
	{Name: "green-compose-file", Default: ""},
	{Name: "service", Default: ""},
	{Name: "blue-port", Default: "8081"},
	{Name: "green-port", Default: "8082"},
	{Name: "upstream-host", Default: "127.0.0.1"},
	{Name: "env-file", Default: ""},
	{Name: "profiles", Default: ""},
	{Name: "shared-services", Default: ""},
	{Name: "singleton-services", Default: ""},
	{Name: "image", Default: ""},
	{Name: "pull", Default: "missing"},
	{Name: "build", Default: "auto"},
	{Name: "registry", Default: ""},
	{Name: "registry-username", Default: ""},
	{Name: "registry-password", Default: ""},
	{Name: "health-path", Default: "/"},
	{Name: "health-status", Default: "200"},
	{Name: "health-retries", Default: "30"},
	{Name: "health-interval", Default: "2s"},
	{Name: "health-start-interval", Default: "25ms"},
	{Name: "health-timeout", Default: "5s"},
	{Name: "startup-delay", Default: "0s"},
	{Name: "health-host", Default: ""},
	{Name: "health-headers", Default: ""},
	{Name: "health-scheme", Default: "http"},
	{Name: "health-insecure-tls", Default: "false"},
	{Name: "nginx-include-path", Default: "/etc/nginx/conf.d/service-url.inc"},
	{Name: "nginx-include-template", Default: ""},
	{Name: "nginx-test-command", Default: "nginx -t"},
	{Name: "nginx-reload-command", Default: "nginx -s reload"},
	{Name: "nginx-container", Default: ""},
	{Name: "verify-url", Default: ""},
	{Name: "drain-timeout", Default: "30s"},
	{Name: "stop-timeout", Default: ""},
	{Name: "lock-timeout", Default: "10m"},
	{Name: "keep-previous", Default: "true"},
	{Name: "observe-seconds", Default: "0"},
	{Name: "canary-steps", Default: ""},
	{Name: "canary-interval", Default: "60s"},
	{Name: "canary-max-error-rate", Default: "1%"},
	{Name: "canary-max-latency-ratio", Default: "0"},
	{Name: "maintenance-page", Default: ""},
	{Name: "hosts", Default: ""},
	{Name: "ssh-private-key", Default: ""},
	{Name: "ssh-known-hosts", Default: ""},
	{Name: "docker-tls-ca", Default: ""},
	{Name: "docker-tls-cert", Default: ""},
	{Name: "docker-tls-key", Default: ""},
	{Name: "max-parallel", Default: "1"},
	{Name: "fleet-failure", Default: string(FleetRollback)},
	{Name: "fleet-canary", Default: "0"},
	{Name: "deploy-id", Default: ""},
	{Name: "to", Default: "previous"},
	{Name: "history-limit", Default: "50"},
	{Name: "retain-images", Default: "3"},
	{Name: "nginx-preview-include-path", Default: ""},
	{Name: "nginx-preview-include-template", Default: ""},
}

// InputNames lists the names in Inputs, sorted.
func InputNames() []string {
	names := make([]string, 0, len(Inputs))
	for _, in := range Inputs {
		names = append(names, in.Name)
	}
	sort.Strings(names)
	return names
}

// declared returns the named input from Inputs. Parse reads inputs only
// through it, so an input missing from the table is a programming error
// that the first test run finds, not a default that drifts.
func declared(name string) Input {
	for _, in := range Inputs {
		if in.Name == name {
			return in
		}
	}
	panic("config: input " + name + " is read but not declared in Inputs")
}

// reader reads action inputs the way the Actions runner passes them:
// INPUT_ + the name in upper case, hyphens kept, surrounding space trimmed.
type reader struct {
	getenv Getenv
}

// get returns an input's trimmed value, or its declared default when it is
// empty.
func (r reader) get(name string) string {
	in := declared(name)
	if v := strings.TrimSpace(r.getenv("INPUT_" + strings.ToUpper(in.Name))); v != "" {
		return v
	}
	return in.Default
}

package config

import (
	"regexp"
	"strings"
)

// Roles are the services' roles the inputs declare (issue 17): the
// shared-services and singleton-services inputs, each a comma- or
// newline-separated list of service names. Whether each name is a service
// of the compose file is checked once the file is loaded (deploy's
// preflight), where the services that exist can be listed.
type Roles struct {
	// Shared run once per host, in their own compose project, outside the
	// colors: a database, a cache.
	Shared []string
	// Singletons run in one color at a time: a scheduler.
	Singletons []string
}

// serviceName is what docker compose accepts as a service name.
var serviceName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// roles reads shared-services and singleton-services.
func (p *parser) roles() Roles {
	r := Roles{Shared: p.serviceList("shared-services"), Singletons: p.serviceList("singleton-services")}
	in := map[string]bool{}
	for _, s := range r.Shared {
		in[s] = true
	}
	for _, s := range r.Singletons {
		if in[s] {
			p.addf("service %q is listed in both shared-services and singleton-services: a service has one role; keep it in one of them", s)
		}
	}
	return r
}

// serviceList splits a list of service names and checks each looks like
// one.
func (p *parser) serviceList(name string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range splitList(p.str(name)) {
		if !serviceName.MatchString(s) {
			p.addf("%s: %q is not a compose service name (letters, digits, '_', '.' and '-', starting with a letter or digit); list the services' names, comma- or newline-separated, for example: db, cache", name, s)
			continue
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// RoleSummary says in words what the inputs declare, for the log: "shared:
// db, cache; singletons: scheduler"; "" when nothing is declared.
func (r Roles) RoleSummary() string {
	var parts []string
	if len(r.Shared) > 0 {
		parts = append(parts, "shared: "+strings.Join(r.Shared, ", "))
	}
	if len(r.Singletons) > 0 {
		parts = append(parts, "singletons: "+strings.Join(r.Singletons, ", "))
	}
	return strings.Join(parts, "; ")
}

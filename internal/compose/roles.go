package compose

import (
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Role says where a service of an app runs in a blue-green deploy. A
// compose file describes a whole app, and only what must change with the
// version is doubled: state lives once per host, a release phase runs once
// per deploy, and a scheduler never runs twice.
type Role int

const (
	// Colored runs once per color: the traffic service, its replicas,
	// workers. It is what every service was before roles, and the default.
	Colored Role = iota
	// Shared runs once per host in its own compose project outside the
	// colors (SharedProjectName), converged like docker compose up and
	// never stopped, recreated or removed by a deploy otherwise.
	Shared
	// Job is a service another one waits for with condition
	// service_completed_successfully (a migration): it runs to completion
	// in the new color before the services that wait for it start.
	Job
	// Singleton is colored but never runs in both colors at once (a
	// scheduler): it starts after the switch, once the old color's
	// instance has stopped.
	Singleton
)

// String is the role's name as the compose file's x-bluegreen.role
// spells it.
func (r Role) String() string {
	switch r {
	case Shared:
		return "shared"
	case Job:
		return "job"
	case Singleton:
		return "singleton"
	}
	return "colored"
}

// declarableRoles are the values x-bluegreen.role takes; a job is
// recognised from depends_on, never declared.
var declarableRoles = map[string]Role{"shared": Shared, "singleton": Singleton, "colored": Colored}

// ExtensionKey is the service extension that declares a role in the
// compose file: x-bluegreen: {role: shared}.
const ExtensionKey = "x-bluegreen"

// Declared is what the deploy knows about roles beyond the compose file:
// the traffic service and the shared-services and singleton-services
// inputs, already split into names.
type Declared struct {
	// Traffic is the service nginx sends requests to; it is always
	// colored.
	Traffic string
	// Shared are the names from the shared-services input.
	Shared []string
	// Singletons are the names from the singleton-services input.
	Singletons []string
}

// Roles is the role of every service of a loaded project.
type Roles struct {
	of       map[string]Role
	declared map[string]bool
	jobFor   map[string][]string // job -> the services that wait for it
	warnings []string
}

// Warnings are findings about the roles that do not stop a deploy: the
// traffic service, colored without being declared so, mounting a named
// volume that both colors then share during a deploy.
func (r Roles) Warnings() []string { return r.warnings }

// Of returns a service's role; a service the project does not have is
// Colored.
func (r Roles) Of(service string) Role { return r.of[service] }

// Services returns the services with the role, sorted.
func (r Roles) Services(role Role) []string {
	var out []string
	for name, got := range r.of {
		if got == role {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Declared reports whether the service's role was declared, by an input
// or by x-bluegreen, rather than taken by default.
func (r Roles) Declared(service string) bool { return r.declared[service] }

// ClassifyServices gives every service of p its role: declared by the
// inputs or by x-bluegreen.role in the compose file, Job for a service
// another one waits for with condition service_completed_successfully,
// Colored otherwise. It returns every problem at once: an unknown role, a
// declared name that is no service, the traffic service or a job declared
// shared or singleton, an input and the file disagreeing, dependencies the
// roles cannot honour, and a service whose role is unclear and that
// mounts a named volume (see volumeRoleProblems).
func ClassifyServices(p *types.Project, d Declared) (Roles, []Problem) {
	r := Roles{of: map[string]Role{}, declared: map[string]bool{}, jobFor: map[string][]string{}}
	var problems []Problem
	fromFile, fileProblems := fileRoles(p)
	problems = append(problems, fileProblems...)
	fromInput := map[string]string{} // service -> the input that declares it
	for _, in := range []struct {
		input string
		names []string
		role  Role
	}{{"shared-services", d.Shared, Shared}, {"singleton-services", d.Singletons, Singleton}} {
		for _, name := range in.names {
			if _, ok := p.Services[name]; !ok {
				problems = append(problems, Problem{Input: in.input, Hint: fmt.Sprintf("%q is not a service of the compose file%s; its services are: %s", name, disabledNote(p, name), strings.Join(p.ServiceNames(), ", "))})
				continue
			}
			if other, ok := fromInput[name]; ok && other != in.input {
				problems = append(problems, Problem{Input: in.input, Hint: fmt.Sprintf("service %q is listed in both shared-services and singleton-services: a service has one role; keep it in one of them", name)})
				continue
			}
			fromInput[name] = in.input
			if role, ok := fromFile[name]; ok && role != in.role {
				problems = append(problems, Problem{Input: in.input, Hint: fmt.Sprintf("service %q is listed in %s, but the compose file declares it x-bluegreen: {role: %s}: declare it in one place, or make the two agree", name, in.input, role)})
				continue
			}
			r.of[name] = in.role
			r.declared[name] = true
		}
	}
	for name, role := range fromFile {
		if _, set := fromInput[name]; !set {
			r.of[name] = role
			r.declared[name] = true
		}
	}
	for _, name := range p.ServiceNames() {
		for _, dep := range sortedKeys(p.Services[name].DependsOn) {
			if p.Services[name].DependsOn[dep].Condition == types.ServiceConditionCompletedSuccessfully {
				if _, ok := p.Services[dep]; ok {
					r.jobFor[dep] = append(r.jobFor[dep], name)
				}
			}
		}
	}
	for _, job := range sortedKeys(r.jobFor) {
		waiters := strings.Join(r.jobFor[job], ", ")
		if role, ok := r.of[job]; ok && role != Colored {
			problems = append(problems, Problem{Input: fromInput[job], Service: serviceIfFile(fromInput[job], job), Key: keyIfFile(fromInput[job]), Hint: fmt.Sprintf(
				"service %q is a job (%s waits for it with condition service_completed_successfully): it runs once, to completion, in the new color at every deploy, so it cannot be %s; remove the declaration, or change the condition to service_started or service_healthy if it keeps running", job, waiters, role)})
		}
		r.of[job] = Job
	}
	if d.Traffic != "" {
		if role := r.of[d.Traffic]; role == Shared || role == Singleton || role == Job {
			hint := fmt.Sprintf("service %q is the traffic service (the one nginx sends requests to), which runs in each color, so it cannot be %s", d.Traffic, role)
			if role == Job {
				hint += ": no service may wait for it with condition service_completed_successfully"
			} else {
				hint += ": remove the declaration"
			}
			problems = append(problems, Problem{Input: fromInput[d.Traffic], Service: serviceIfFile(fromInput[d.Traffic], d.Traffic), Key: keyIfFile(fromInput[d.Traffic]), Hint: hint})
		}
		if vols := namedVolumesOf(p, p.Services[d.Traffic]); len(vols) > 0 && !r.declared[d.Traffic] {
			r.warnings = append(r.warnings, fmt.Sprintf("service %q (the traffic service) mounts the named volume %s, which blue and green both mount while a deploy runs them side by side: "+
				"that is safe for files such as uploads, not for a database's data files; run a database as a shared service, and declare x-bluegreen: {role: colored} on %s to silence this", d.Traffic, quoteList(vols), d.Traffic))
		}
		r.of[d.Traffic] = Colored
		r.declared[d.Traffic] = true
	}
	for _, name := range p.ServiceNames() {
		if _, ok := r.of[name]; !ok {
			r.of[name] = Colored
		}
	}
	problems = append(problems, dependencyRoleProblems(p, r)...)
	problems = append(problems, volumeRoleProblems(p, r, d.Traffic)...)
	return r, problems
}

// fileRoles reads x-bluegreen.role of every service.
func fileRoles(p *types.Project) (map[string]Role, []Problem) {
	out := map[string]Role{}
	var problems []Problem
	for _, name := range p.ServiceNames() {
		ext, ok := p.Services[name].Extensions[ExtensionKey]
		if !ok {
			continue
		}
		m, ok := ext.(map[string]any)
		if !ok {
			problems = append(problems, Problem{Service: name, Key: ExtensionKey, Hint: "x-bluegreen must be a mapping, for example x-bluegreen: {role: shared}"})
			continue
		}
		for _, key := range sortedKeys(m) {
			if key != "role" {
				problems = append(problems, Problem{Service: name, Key: ExtensionKey + "." + key, Hint: fmt.Sprintf("x-bluegreen has no key %q: it takes role (shared, singleton or colored)", key)})
			}
		}
		v, present := m["role"]
		if !present {
			continue
		}
		s, _ := v.(string)
		role, known := declarableRoles[s]
		if !known {
			what := fmt.Sprintf("%q", s)
			if _, isString := v.(string); !isString {
				what = "not a word"
			}
			if s == "job" {
				problems = append(problems, Problem{Service: name, Key: ExtensionKey + ".role", Hint: "a job is not declared: it is recognised when another service waits for it with depends_on condition service_completed_successfully; use shared, singleton or colored"})
				continue
			}
			problems = append(problems, Problem{Service: name, Key: ExtensionKey + ".role", Hint: fmt.Sprintf("role %s is not a role: use shared (runs once per host, outside the colors: a database, a cache), singleton (one color at a time: a scheduler) or colored (once per color, the default)", what)})
			continue
		}
		out[name] = role
	}
	return out, problems
}

// dependencyRoleProblems finds dependencies the roles cannot honour: a
// shared service starts before either color, so it cannot wait for a
// service of one; a singleton starts after the switch, so nothing that
// starts before it can wait for it.
func dependencyRoleProblems(p *types.Project, r Roles) []Problem {
	var problems []Problem
	for _, name := range p.ServiceNames() {
		role := r.of[name]
		for _, dep := range sortedKeys(p.Services[name].DependsOn) {
			depRole, ok := r.of[dep]
			if !ok {
				continue
			}
			switch {
			case role == Shared && depRole != Shared:
				problems = append(problems, Problem{Service: name, Key: "depends_on." + dep, Hint: fmt.Sprintf(
					"the service is shared and %q is %s: a shared service runs once per host and starts before either color, so it cannot wait for a service of one; make %q shared too, or remove the dependency", dep, depRole, dep)})
			case role != Singleton && depRole == Singleton:
				problems = append(problems, Problem{Service: name, Key: "depends_on." + dep, Hint: fmt.Sprintf(
					"%q is a singleton, which starts only after the switch, so a %s service cannot wait for it: remove the dependency, or make %q colored", dep, role, dep)})
			}
		}
	}
	return problems
}

// volumeRoleProblems refuses a service whose role is unclear and that
// mounts a named volume: as a colored service it would run twice on the
// same data during every deploy, which corrupts a database's files, and
// guessing "shared" would keep a worker from being updated. The traffic
// service, jobs and declared services have a clear role.
func volumeRoleProblems(p *types.Project, r Roles, traffic string) []Problem {
	var problems []Problem
	for _, name := range p.ServiceNames() {
		if name == traffic || r.declared[name] || r.of[name] == Job {
			continue
		}
		vols := namedVolumesOf(p, p.Services[name])
		if len(vols) == 0 {
			continue
		}
		problems = append(problems, Problem{Service: name, Key: "volumes", Hint: fmt.Sprintf(
			"the service mounts the named volume %s, and its role is not declared: during a deploy blue and green would both run it on the same data. "+
				"Make it shared if it holds state (a database, a cache: shared-services: %s, or x-bluegreen: {role: shared} on the service), "+
				"or mark it colored if two copies on one volume are safe (x-bluegreen: {role: colored})", quoteList(vols), name)})
	}
	return problems
}

// namedVolumesOf lists the project volumes a service mounts, sorted.
func namedVolumesOf(p *types.Project, s types.ServiceConfig) []string {
	set := map[string]bool{}
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Source != "" {
			if _, ok := p.Volumes[v.Source]; ok {
				set[v.Source] = true
			}
		}
	}
	return sortedKeys(set)
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func disabledNote(p *types.Project, name string) string {
	if _, off := p.DisabledServices[name]; off {
		return " that runs (its profile is not active)"
	}
	return ""
}

// serviceIfFile and keyIfFile place a problem: on the input that declared
// the role, or on the service's x-bluegreen in the file.
func serviceIfFile(input, service string) string {
	if input != "" {
		return ""
	}
	return service
}

func keyIfFile(input string) string {
	if input != "" {
		return ""
	}
	return ExtensionKey + ".role"
}

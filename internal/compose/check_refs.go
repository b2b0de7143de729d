package compose

import (
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Keys that point at another service or container: network_mode, ipc,
// pid, volumes_from, links and external_links. compose-go has already
// turned every service: reference into a depends_on, so start order
// follows; Up also creates the referenced container first, because Docker
// resolves these references when it creates the container.

// checkServiceRef refuses a reference to a service that does not run in
// this color: one that is not defined, or one whose profile is off.
func checkServiceRef(p *types.Project, s types.ServiceConfig, key, ref string) []Problem {
	if _, ok := p.Services[ref]; ok {
		if ref == s.Name {
			return []Problem{{Service: s.Name, Key: key, Hint: fmt.Sprintf("%s refers to the service itself: name another service", key)}}
		}
		return nil
	}
	why := "it is not defined"
	if _, off := p.DisabledServices[ref]; off {
		why = "its profile is not active"
	}
	return []Problem{{Service: s.Name, Key: key, Hint: fmt.Sprintf("%s refers to service %q, which does not run because %s: enable it or remove the reference", key, ref, why)}}
}

// namespaceModes are the values each namespace key takes on a Linux
// engine; service: and container: are allowed where Docker can share that
// namespace with another container.
var namespaceModes = map[string]struct {
	values []string
	share  bool
}{
	"ipc":         {[]string{"none", "private", "shareable", "host"}, true},
	"pid":         {[]string{"host"}, true},
	"uts":         {[]string{"host"}, false},
	"cgroup":      {[]string{"host", "private"}, false},
	"userns_mode": {[]string{"host"}, false},
}

// checkNamespace returns the check of one namespace key.
func checkNamespace(key string) serviceCheck {
	return func(p *types.Project, s types.ServiceConfig) []Problem {
		return checkNamespaceMode(p, s, key, namespaceValue(s, key))
	}
}

func namespaceValue(s types.ServiceConfig, key string) string {
	switch key {
	case "ipc":
		return s.Ipc
	case "pid":
		return s.Pid
	case "uts":
		return s.Uts
	case "cgroup":
		return s.Cgroup
	case "userns_mode":
		return s.UserNSMode
	}
	return ""
}

func checkNamespaceMode(p *types.Project, s types.ServiceConfig, key, value string) []Problem {
	if value == "" {
		return nil
	}
	m := namespaceModes[key]
	for _, v := range m.values {
		if value == v {
			return nil
		}
	}
	if m.share {
		if ref, ok := strings.CutPrefix(value, types.ServicePrefix); ok {
			return checkServiceRef(p, s, key, ref)
		}
		if name, ok := strings.CutPrefix(value, types.ContainerPrefix); ok && name != "" {
			return nil
		}
	}
	valid := strings.Join(m.values, ", ")
	if m.share {
		valid += ", service:<name> or container:<name>"
	}
	return []Problem{{Service: s.Name, Key: key, Hint: fmt.Sprintf("%s %q is not a mode a Linux Docker engine knows: use %s", key, value, valid)}}
}

// checkVolumesFrom accepts "service[:ro|rw]" and "container:name[:ro|rw]".
func checkVolumesFrom(p *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, v := range s.VolumesFrom {
		ref, mode, err := parseVolumesFrom(v)
		if err != nil {
			problems = append(problems, Problem{Service: s.Name, Key: "volumes_from", Hint: err.Error()})
			continue
		}
		_ = mode
		if ref.service != "" {
			problems = append(problems, checkServiceRef(p, s, "volumes_from", ref.service)...)
		}
	}
	return problems
}

// containerRef is a reference to a service of the project or to a
// container outside it.
type containerRef struct{ service, container string }

// parseVolumesFrom splits a volumes_from entry into what it names and its
// access mode ("", "ro" or "rw").
func parseVolumesFrom(v string) (containerRef, string, error) {
	var ref containerRef
	rest := v
	if name, ok := strings.CutPrefix(v, types.ContainerPrefix); ok {
		ref.container, rest, _ = strings.Cut(name, ":")
		rest = strings.TrimPrefix(v, types.ContainerPrefix+ref.container)
	} else {
		ref.service, rest, _ = strings.Cut(v, ":")
		rest = strings.TrimPrefix(v, ref.service)
	}
	mode := strings.TrimPrefix(rest, ":")
	switch {
	case ref.service == "" && ref.container == "":
		return ref, "", fmt.Errorf("volumes_from %q names no service or container: write <service>[:ro] or container:<name>[:ro]", v)
	case mode != "" && mode != "ro" && mode != "rw":
		return ref, "", fmt.Errorf("volumes_from %q has the mode %q: use ro or rw", v, mode)
	}
	return ref, mode, nil
}

// checkLinks accepts "service" and "service:alias" for services of the
// project. Links ask for the linked service's containers by name, so a
// service that network_mode puts outside any network cannot have them.
func checkLinks(p *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, l := range s.Links {
		svc, alias, _ := strings.Cut(l, ":")
		if svc == "" || strings.Contains(alias, ":") {
			problems = append(problems, Problem{Service: s.Name, Key: "links", Hint: fmt.Sprintf("link %q is not <service> or <service>:<alias>", l)})
			continue
		}
		problems = append(problems, checkServiceRef(p, s, "links", svc)...)
	}
	problems = append(problems, checkLinkNetworkMode(s, "links")...)
	return problems
}

// checkExternalLinks accepts "container" and "container:alias". Whether
// the container exists and shares a network is known only when Up runs.
func checkExternalLinks(_ *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, l := range s.ExternalLinks {
		name, alias, _ := strings.Cut(l, ":")
		if name == "" || strings.Contains(alias, ":") {
			problems = append(problems, Problem{Service: s.Name, Key: "external_links", Hint: fmt.Sprintf("external link %q is not <container> or <container>:<alias>", l)})
		}
	}
	return append(problems, checkLinkNetworkMode(s, "external_links")...)
}

func checkLinkNetworkMode(s types.ServiceConfig, key string) []Problem {
	switch {
	case s.NetworkMode == "host", s.NetworkMode == "none",
		strings.HasPrefix(s.NetworkMode, types.ServicePrefix), strings.HasPrefix(s.NetworkMode, types.ContainerPrefix):
		return []Problem{{Service: s.Name, Key: key, Hint: fmt.Sprintf("%s need a network the container joins itself, and network_mode %q gives it none of its own: remove %s, or attach the service to a network", key, s.NetworkMode, key)}}
	}
	return nil
}

// checkSecurityOpt checks each option's form the way the docker CLI reads
// it: key=value, key:value, or no-new-privileges alone. Docker checks the
// keys and values themselves; a seccomp profile file is read by Up.
func checkSecurityOpt(_ *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, opt := range s.SecurityOpt {
		if _, _, err := splitSecurityOpt(opt); err != nil {
			problems = append(problems, Problem{Service: s.Name, Key: "security_opt", Hint: err.Error()})
		}
	}
	return problems
}

// splitSecurityOpt splits a security option into key and value as the
// docker CLI does ("seccomp=x", "seccomp:x", "no-new-privileges").
func splitSecurityOpt(opt string) (string, string, error) {
	if opt == "no-new-privileges" {
		return opt, "", nil
	}
	if k, v, ok := strings.Cut(opt, "="); ok {
		return k, v, nil
	}
	if k, v, ok := strings.Cut(opt, ":"); ok {
		return k, v, nil
	}
	return "", "", fmt.Errorf("security_opt %q is not <key>=<value> (for example no-new-privileges:true, label=disable, seccomp=unconfined, apparmor=<profile>)", opt)
}

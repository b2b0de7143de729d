package compose

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Secrets and configs, as docker compose v2 runs them without a swarm: a
// file: source is bind-mounted read-only; an environment: or content:
// source is written into the container before it starts. What only a
// swarm's secret store can provide is refused.

var (
	fileRefKeys    = map[string]bool{"source": true, "target": true, "uid": true, "gid": true, "mode": true}
	fileObjectKeys = map[string]bool{"name": true, "file": true, "environment": true, "content": true, "labels": true}
)

func checkServiceSecrets(p *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, ref := range s.Secrets {
		problems = append(problems, checkFileRef(p, s, "secrets", types.FileReferenceConfig(ref), types.FileObjectConfig(p.Secrets[ref.Source]))...)
	}
	return problems
}

func checkServiceConfigs(p *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, ref := range s.Configs {
		problems = append(problems, checkFileRef(p, s, "configs", types.FileReferenceConfig(ref), types.FileObjectConfig(p.Configs[ref.Source]))...)
	}
	return problems
}

// checkFileRef checks one service's use of a secret or config.
func checkFileRef(p *types.Project, s types.ServiceConfig, kind string, ref types.FileReferenceConfig, def types.FileObjectConfig) []Problem {
	key := kind + "." + ref.Source
	problems := rejectKeys(s.Name, key, ref, fileRefKeys, defaultHint)
	if def.External || def.Driver != "" || def.TemplateDriver != "" {
		return problems // checkFileObjects reports the definition
	}
	if def.File == "" && (def.Environment != "" || def.Content != "") {
		if s.ReadOnly {
			problems = append(problems, Problem{Service: s.Name, Key: key, Hint: fmt.Sprintf("the service is read_only, and a %s from environment: or content: is written into the container's file system before it starts (as docker compose does): use file: for it, or remove read_only", singular(kind))})
		}
		if def.Environment != "" {
			if _, ok := p.Environment[def.Environment]; !ok {
				problems = append(problems, Problem{Service: s.Name, Key: key, Hint: fmt.Sprintf("%s %s comes from the environment variable %s, which is not set: set it in the workflow step's env:", singular(kind), ref.Source, def.Environment)})
			}
		}
	}
	return problems
}

func singular(kind string) string {
	if kind == "secrets" {
		return "secret"
	}
	return "config"
}

// checkFileObjects checks the definitions of the secrets and configs that
// enabled services use; compose-go keeps unused ones, which never run.
func checkFileObjects(p *types.Project) []Problem {
	usedSecrets, usedConfigs := map[string][]string{}, map[string][]string{}
	for _, name := range p.ServiceNames() {
		for _, r := range p.Services[name].Secrets {
			usedSecrets[r.Source] = append(usedSecrets[r.Source], name)
		}
		for _, r := range p.Services[name].Configs {
			usedConfigs[r.Source] = append(usedConfigs[r.Source], name)
		}
	}
	var problems []Problem
	for _, name := range sortedKeys(usedSecrets) {
		problems = append(problems, checkFileObject("secrets", name, usedSecrets[name], types.FileObjectConfig(p.Secrets[name]))...)
	}
	for _, name := range sortedKeys(usedConfigs) {
		problems = append(problems, checkFileObject("configs", name, usedConfigs[name], types.FileObjectConfig(p.Configs[name]))...)
	}
	return problems
}

// checkFileObject checks the definition of a secret or config that
// services uses; its problems are top-level, and say who uses it.
func checkFileObject(kind, name string, services []string, def types.FileObjectConfig) []Problem {
	key := kind + "." + name
	sources := "file: or environment:"
	if kind == "configs" {
		sources = "file:, environment: or content:"
	}
	swarm := fmt.Sprintf("lives in a swarm's %s store, which a single Docker host does not have (docker compose refuses it too): give it a %s source instead (used by service %s)", singular(kind), sources, strings.Join(services, ", "))
	var problems []Problem
	for _, k := range populatedKeys(reflect.ValueOf(def), fileObjectKeys) {
		switch k {
		case "external":
			problems = append(problems, Problem{Key: key + ".external", Hint: "an external " + singular(kind) + " " + swarm})
		case "driver", "driver_opts", "template_driver":
			problems = append(problems, Problem{Key: key + "." + k, Hint: fmt.Sprintf("a %s with a %s %s", singular(kind), k, swarm)})
		default:
			problems = append(problems, Problem{Key: key + "." + k, Hint: defaultHint(key+"."+k) + " (used by service " + strings.Join(services, ", ") + ")"})
		}
	}
	return problems
}

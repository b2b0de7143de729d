package compose

import (
	"fmt"
	"reflect"

	"github.com/compose-spec/compose-go/v2/types"
)

// Warnings returns findings that do not stop a deploy but probably surprise
// the user, in a stable order: a network with a fixed name: that is not
// external belongs to whichever color created it first, so the other
// color's Up refuses it; keys docker compose ignores on one host. (Named
// volumes are one volume for both colors since SplitProject, and a
// service whose role is unclear and that mounts one is a problem of
// ClassifyServices; Roles.Warnings has the rarer cases.)
func Warnings(p *types.Project) []string {
	var out []string
	for _, key := range usedNetworkKeys(p) {
		n := p.Networks[key]
		if !n.External && n.Name != p.Name+"_"+key {
			out = append(out, fmt.Sprintf("network %q has the fixed name %q but is not external: the first color to deploy owns it and the other color cannot use it; "+
				"set external: true and create it once with docker network create %s", key, n.Name, n.Name))
		}
	}
	out = append(out, EnvFileWarnings(p)...)
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.HealthCheck != nil && s.HealthCheck.StartInterval != nil {
			out = append(out, fmt.Sprintf("service %q: healthcheck.start_interval needs Docker Engine 25 (API 1.44); older engines ignore it", name))
		}
		out = append(out, ignoredKeys(p, s)...)
	}
	return out
}

// ignoredKeys names the keys of a service that docker compose v2 accepts
// and ignores on one host, one line each: bluegreen ignores them too
// rather than refusing a file that docker compose up runs.
func ignoredKeys(p *types.Project, s types.ServiceConfig) []string {
	var out []string
	ignored := func(key, why string) {
		out = append(out, fmt.Sprintf("service %q: %s is ignored: %s; docker compose ignores it too", s.Name, key, why))
	}
	if s.Develop != nil {
		ignored("develop", "only docker compose watch reads it")
	}
	if d := s.Deploy; d != nil {
		for _, key := range populatedKeys(reflect.ValueOf(*d), deployKeys) {
			if swarmOnlyDeployKeys[key] {
				ignored("deploy."+key, "it only means something to a swarm")
			}
		}
		if d.Mode == "global" {
			ignored("deploy.mode global", "one container per node is one container on one host")
		}
		if r := d.Resources.Reservations; r != nil {
			for _, key := range populatedKeys(reflect.ValueOf(*r), reservationKeys) {
				if swarmOnlyReserved[key] {
					ignored("deploy.resources.reservations."+key, "only a swarm's scheduler reserves it")
				}
			}
		}
		if rp := d.RestartPolicy; rp != nil {
			for _, key := range populatedKeys(reflect.ValueOf(*rp), restartPolicyKeys) {
				if swarmOnlyRestart[key] {
					ignored("deploy.restart_policy."+key, "the Docker Engine's restart policy has no such setting")
				}
			}
		}
	}
	fileRefs := func(kind string, refs []types.FileReferenceConfig, defs map[string]types.FileObjectConfig) {
		for _, ref := range refs {
			def := defs[ref.Source]
			if def.File != "" && (ref.UID != "" || ref.GID != "" || ref.Mode != nil) {
				ignored(kind+"."+ref.Source+" uid, gid and mode", "a file: "+singular(kind)+" is bind-mounted as the host file is")
			}
			if len(def.Labels) > 0 {
				ignored(kind+"."+ref.Source+" labels", "only a swarm's "+singular(kind)+" store keeps them")
			}
		}
	}
	var secrets, configs []types.FileReferenceConfig
	secretDefs, configDefs := map[string]types.FileObjectConfig{}, map[string]types.FileObjectConfig{}
	for _, r := range s.Secrets {
		secrets = append(secrets, types.FileReferenceConfig(r))
		secretDefs[r.Source] = types.FileObjectConfig(p.Secrets[r.Source])
	}
	for _, r := range s.Configs {
		configs = append(configs, types.FileReferenceConfig(r))
		configDefs[r.Source] = types.FileObjectConfig(p.Configs[r.Source])
	}
	fileRefs("secrets", secrets, secretDefs)
	fileRefs("configs", configs, configDefs)
	return out
}

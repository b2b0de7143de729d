package compose

// The checks of nested settings: each mapped setting's keys are listed,
// so that a setting a later compose-go adds is refused until someone maps
// it (see check.go).

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/pull"
	"github.com/compose-spec/compose-go/v2/types"
)

// The keys of nested settings that are mapped. They are listed rather than
// assumed, so that a setting a later compose-go adds is rejected until
// someone maps it.
var (
	portKeys        = map[string]bool{"name": true, "mode": true, "host_ip": true, "target": true, "published": true, "protocol": true, "app_protocol": true}
	dependsOnKeys   = map[string]bool{"condition": true, "restart": true, "required": true}
	healthcheckKeys = map[string]bool{"test": true, "timeout": true, "interval": true, "retries": true, "start_period": true, "start_interval": true, "disable": true}
	ulimitKeys      = map[string]bool{"single": true, "soft": true, "hard": true}
	loggingKeys     = map[string]bool{"driver": true, "options": true}
	deviceKeys      = map[string]bool{"source": true, "target": true, "permissions": true}
)

func checkPorts(_ *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, p := range s.Ports {
		problems = append(problems, rejectKeys(s.Name, "ports", p, portKeys, defaultHint)...)
	}
	return problems
}

func checkDependsOn(_ *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, name := range sortedKeys(s.DependsOn) {
		problems = append(problems, rejectKeys(s.Name, "depends_on."+name, s.DependsOn[name], dependsOnKeys, defaultHint)...)
	}
	return problems
}

func checkHealthcheck(_ *types.Project, s types.ServiceConfig) []Problem {
	return rejectKeys(s.Name, "healthcheck", *s.HealthCheck, healthcheckKeys, defaultHint)
}

func checkUlimits(_ *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, name := range sortedKeys(s.Ulimits) {
		if u := s.Ulimits[name]; u != nil {
			problems = append(problems, rejectKeys(s.Name, "ulimits."+name, *u, ulimitKeys, defaultHint)...)
		}
	}
	return problems
}

func checkLogging(_ *types.Project, s types.ServiceConfig) []Problem {
	return rejectKeys(s.Name, "logging", *s.Logging, loggingKeys, defaultHint)
}

func checkRestart(_ *types.Project, s types.ServiceConfig) []Problem {
	policy, count, hasCount := strings.Cut(s.Restart, ":")
	ok := false
	switch policy {
	case "no", "always", "unless-stopped":
		ok = !hasCount
	case "on-failure":
		_, err := strconv.Atoi(count)
		ok = !hasCount || err == nil
	}
	if ok {
		return nil
	}
	return []Problem{{Service: s.Name, Key: "restart", Hint: fmt.Sprintf("restart %q is not a restart policy: use no, always, unless-stopped, on-failure or on-failure:<max retries>", s.Restart)}}
}

func checkPullPolicy(_ *types.Project, s types.ServiceConfig) []Problem {
	if s.PullPolicy == types.PullPolicyBuild {
		if s.Build == nil {
			return []Problem{{Service: s.Name, Key: "pull_policy", Hint: "pull_policy build needs a build: section to build from: add one, or use always, missing or never"}}
		}
		return nil
	}
	if _, err := pull.Parse(s.PullPolicy); err == nil {
		return nil
	}
	return []Problem{{Service: s.Name, Key: "pull_policy", Hint: fmt.Sprintf("pull_policy %q is not supported: use always, missing, never or build (bluegreen keeps no record of when an image was pulled, which daily, weekly and every_<duration> need)", s.PullPolicy)}}
}

// checkReplicas refuses what several containers of one service cannot
// share on one host: a fixed container name, or a fixed host port.
func checkReplicas(s types.ServiceConfig) []Problem {
	n := replicas(s)
	if n < 0 {
		return []Problem{{Service: s.Name, Key: "scale", Hint: fmt.Sprintf("scale %d is not a number of containers: use 0 or more", n)}}
	}
	if n <= 1 {
		return nil
	}
	var problems []Problem
	if s.ContainerName != "" {
		problems = append(problems, Problem{Service: s.Name, Key: "container_name", Hint: fmt.Sprintf("container_name %q cannot name %d containers (scale/deploy.replicas): remove container_name, or run one replica", s.ContainerName, n)})
	}
	for _, pc := range s.Ports {
		if pc.Published == "" || strings.Contains(pc.Published, "-") {
			continue
		}
		problems = append(problems, Problem{Service: s.Name, Key: "ports", Hint: fmt.Sprintf("host port %s can be published by only one of the %d replicas: publish a range with one port per replica (for example \"%s-%d:%d\") or no host port", pc.Published, n, pc.Published, atoiOr(pc.Published, 0)+n-1, pc.Target)})
	}
	return problems
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// replicas is the number of containers a service runs: scale, or
// deploy.replicas, or 1 (compose-go has already made the two agree).
func replicas(s types.ServiceConfig) int {
	return s.GetScale()
}

// deployKeys are the deploy keys docker compose maps onto a plain
// container. swarmOnlyDeployKeys are the ones docker compose ignores
// because they only mean something to a swarm; bluegreen ignores them too,
// and Warnings says so once per key.
var (
	deployKeys          = map[string]bool{"mode": true, "replicas": true, "resources": true, "restart_policy": true}
	swarmOnlyDeployKeys = map[string]bool{"labels": true, "placement": true, "update_config": true, "rollback_config": true, "endpoint_mode": true}
	resourcesKeys       = map[string]bool{"limits": true, "reservations": true}
	limitKeys           = map[string]bool{"cpus": true, "memory": true, "pids": true}
	reservationKeys     = map[string]bool{"memory": true, "devices": true}
	swarmOnlyReserved   = map[string]bool{"cpus": true, "generic_resources": true}
	restartPolicyKeys   = map[string]bool{"condition": true, "max_attempts": true}
	swarmOnlyRestart    = map[string]bool{"delay": true, "window": true}
	deviceRequestKeys   = map[string]bool{"capabilities": true, "driver": true, "count": true, "device_ids": true, "options": true}
)

// allow merges key sets.
func allow(sets ...map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, set := range sets {
		for k := range set {
			out[k] = true
		}
	}
	return out
}

func checkDeploy(_ *types.Project, s types.ServiceConfig) []Problem {
	d := s.Deploy
	problems := rejectKeys(s.Name, "deploy", *d, allow(deployKeys, swarmOnlyDeployKeys), defaultHint)
	switch d.Mode {
	case "", "replicated", "global":
	default:
		problems = append(problems, Problem{Service: s.Name, Key: "deploy.mode", Hint: fmt.Sprintf("deploy.mode %q is not supported: jobs need a swarm; use replicated (or global, which is one container on one host)", d.Mode)})
	}
	problems = append(problems, rejectKeys(s.Name, "deploy.resources", d.Resources, resourcesKeys, defaultHint)...)
	if d.Resources.Limits != nil {
		problems = append(problems, rejectKeys(s.Name, "deploy.resources.limits", *d.Resources.Limits, limitKeys, defaultHint)...)
	}
	if r := d.Resources.Reservations; r != nil {
		problems = append(problems, rejectKeys(s.Name, "deploy.resources.reservations", *r, allow(reservationKeys, swarmOnlyReserved), defaultHint)...)
		for _, dev := range r.Devices {
			problems = append(problems, rejectKeys(s.Name, "deploy.resources.reservations.devices", dev, deviceRequestKeys, defaultHint)...)
		}
	}
	if d.RestartPolicy != nil {
		problems = append(problems, rejectKeys(s.Name, "deploy.restart_policy", *d.RestartPolicy, allow(restartPolicyKeys, swarmOnlyRestart), defaultHint)...)
		switch d.RestartPolicy.Condition {
		case "", "none", "no", "on-failure", "any", "always", "unless-stopped":
		default:
			problems = append(problems, Problem{Service: s.Name, Key: "deploy.restart_policy.condition", Hint: fmt.Sprintf("condition %q is not a restart policy: use none, on-failure or any", d.RestartPolicy.Condition)})
		}
	}
	return problems
}

func checkGpus(_ *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, g := range s.Gpus {
		problems = append(problems, rejectKeys(s.Name, "gpus", g, deviceRequestKeys, defaultHint)...)
	}
	return problems
}

var (
	blkioKeys         = map[string]bool{"weight": true, "weight_device": true, "device_read_bps": true, "device_read_iops": true, "device_write_bps": true, "device_write_iops": true}
	weightDeviceKeys  = map[string]bool{"path": true, "weight": true}
	throttleDeviceKey = map[string]bool{"path": true, "rate": true}
)

func checkBlkio(_ *types.Project, s types.ServiceConfig) []Problem {
	b := s.BlkioConfig
	problems := rejectKeys(s.Name, "blkio_config", *b, blkioKeys, defaultHint)
	for _, w := range b.WeightDevice {
		problems = append(problems, rejectKeys(s.Name, "blkio_config.weight_device", w, weightDeviceKeys, defaultHint)...)
	}
	for _, list := range [][]types.ThrottleDevice{b.DeviceReadBps, b.DeviceReadIOps, b.DeviceWriteBps, b.DeviceWriteIOps} {
		for _, d := range list {
			problems = append(problems, rejectKeys(s.Name, "blkio_config", d, throttleDeviceKey, defaultHint)...)
		}
	}
	return problems
}

// checkContainerName refuses a container_name on a service that runs
// several containers (checkScale says it); alone it is mapped.
func checkContainerName(_ *types.Project, _ types.ServiceConfig) []Problem { return nil }

// serviceNetworkKeys are the per-service network settings mapped to the
// endpoint on API 1.41.
var serviceNetworkKeys = map[string]bool{"aliases": true, "ipv4_address": true, "priority": true}

func checkServiceNetworks(_ *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, name := range sortedKeys(s.Networks) {
		cfg := s.Networks[name]
		if cfg == nil {
			continue
		}
		problems = append(problems, rejectKeys(s.Name, "networks."+name, *cfg, serviceNetworkKeys, defaultHint)...)
	}
	return problems
}

func checkNetworkMode(p *types.Project, s types.ServiceConfig) []Problem {
	mode := s.NetworkMode
	switch {
	case mode == "bridge", mode == "host", mode == "none":
		return nil
	case strings.HasPrefix(mode, types.ServicePrefix), strings.HasPrefix(mode, types.ContainerPrefix):
		var problems []Problem
		if ref, ok := strings.CutPrefix(mode, types.ServicePrefix); ok {
			problems = append(problems, checkServiceRef(p, s, "network_mode", ref)...)
		}
		// The container joins another one's network stack: what would
		// configure its own is refused by Docker at create; say it first.
		why := fmt.Sprintf("with network_mode %q the container shares that container's network stack", mode)
		if len(s.Ports) > 0 || len(s.Expose) > 0 {
			problems = append(problems, Problem{Service: s.Name, Key: "ports", Hint: why + ", so it cannot publish or expose ports of its own: publish them on the service whose network it joins"})
		}
		if s.Hostname != "" {
			problems = append(problems, Problem{Service: s.Name, Key: "hostname", Hint: why + ", hostname included: remove hostname"})
		}
		if len(s.DNS) > 0 || len(s.DNSSearch) > 0 || len(s.DNSOpts) > 0 || len(s.ExtraHosts) > 0 {
			problems = append(problems, Problem{Service: s.Name, Key: "dns", Hint: why + ", DNS settings and extra_hosts included: set them on the service whose network it joins"})
		}
		return problems
	}
	return []Problem{{Service: s.Name, Key: "network_mode", Hint: fmt.Sprintf("network_mode %q is not supported: use networks:, or network_mode host, bridge, none, service:<name> or container:<name>", mode)}}
}

var (
	volumeMountKeys = map[string]bool{"type": true, "source": true, "target": true, "read_only": true, "consistency": true, "bind": true, "volume": true, "tmpfs": true}
	bindOptionKeys  = map[string]bool{"selinux": true, "propagation": true, "create_host_path": true}
	volumeOptKeys   = map[string]bool{"nocopy": true}
	tmpfsOptionKeys = map[string]bool{"size": true, "mode": true}
)

func checkVolumes(_ *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, v := range s.Volumes {
		prefix := "volumes(" + v.Target + ")"
		switch v.Type {
		case types.VolumeTypeBind, types.VolumeTypeVolume, types.VolumeTypeTmpfs:
		default:
			problems = append(problems, Problem{Service: s.Name, Key: prefix + ".type", Hint: fmt.Sprintf("volume type %q is not supported: use bind, volume or tmpfs", v.Type)})
			continue
		}
		problems = append(problems, rejectKeys(s.Name, prefix, v, volumeMountKeys, defaultHint)...)
		if v.Bind != nil {
			problems = append(problems, rejectKeys(s.Name, prefix+".bind", *v.Bind, bindOptionKeys, func(key string) string {
				return key + " is not supported: it needs Docker Engine API 1.44; remove it"
			})...)
		}
		if v.Volume != nil {
			problems = append(problems, rejectKeys(s.Name, prefix+".volume", *v.Volume, volumeOptKeys, func(key string) string {
				return key + " is not supported: mount the whole volume (subpath needs Docker Engine API 1.45)"
			})...)
		}
		if v.Tmpfs != nil {
			problems = append(problems, rejectKeys(s.Name, prefix+".tmpfs", *v.Tmpfs, tmpfsOptionKeys, defaultHint)...)
		}
	}
	return problems
}

func checkDevices(_ *types.Project, s types.ServiceConfig) []Problem {
	var problems []Problem
	for _, d := range s.Devices {
		problems = append(problems, rejectKeys(s.Name, "devices", d, deviceKeys, defaultHint)...)
		if !strings.HasPrefix(d.Source, "/") {
			problems = append(problems, Problem{Service: s.Name, Key: "devices", Hint: fmt.Sprintf("device %q is not a host path: CDI devices need Docker Engine API 1.45; use /dev/... paths", d.Source)})
		}
	}
	return problems
}

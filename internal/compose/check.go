package compose

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/pull"
)

// ErrUnsupported is what an *UnsupportedError matches with errors.Is, so a
// caller can tell "fix your compose file" from a Docker failure.
var ErrUnsupported = errors.New("the compose project uses keys bluegreen does not support")

// Problem is one key of the compose project that Up would not honour.
type Problem struct {
	// Service is the service the key belongs to; empty for a top-level key.
	Service string
	// Key is the compose key, dotted for nested ones (deploy.replicas).
	Key string
	// Hint says why the key is rejected and what to write instead.
	Hint string
}

// String renders the problem as `service "web": build: <hint>`.
func (p Problem) String() string {
	if p.Service == "" {
		return fmt.Sprintf("top-level %s: %s", p.Key, p.Hint)
	}
	return fmt.Sprintf("service %q: %s: %s", p.Service, p.Key, p.Hint)
}

// UnsupportedError lists every unsupported key of a project at once, so a
// user fixes the compose file in one round instead of one key per deploy.
type UnsupportedError struct{ Problems []Problem }

// Error lists the problems one per line.
func (e *UnsupportedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d):", ErrUnsupported, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// serviceCheck inspects the value of a supported key for the parts of it we
// do not map; nil means every value is mapped.
type serviceCheck func(p *types.Project, s types.ServiceConfig) []Problem

// serviceKeys are the service keys Up maps, each with the check of its
// value. A populated key that is not listed here is rejected, so a key that
// compose-go adds in a later version is rejected until someone maps it.
var serviceKeys = map[string]serviceCheck{
	"name":                nil,
	"image":               nil,
	"build":               checkBuild,
	"container_name":      checkContainerName,
	"command":             nil,
	"entrypoint":          nil,
	"environment":         nil,
	"env_file":            nil, // compose-go has merged it into environment
	"label_file":          nil, // compose-go has merged it into labels
	"labels":              nil,
	"ports":               checkPorts,
	"expose":              nil,
	"restart":             checkRestart,
	"depends_on":          checkDependsOn,
	"profiles":            nil, // applied by Load
	"attach":              nil, // only says whether `up` prints the logs
	"develop":             nil, // only read by docker compose watch; Warnings says so
	"pull_policy":         checkPullPolicy,
	"scale":               nil, // checkReplicas, for deploy.replicas too
	"deploy":              checkDeploy,
	"networks":            checkServiceNetworks,
	"network_mode":        checkNetworkMode,
	"links":               checkLinks,
	"external_links":      checkExternalLinks,
	"volumes":             checkVolumes,
	"volumes_from":        checkVolumesFrom,
	"volume_driver":       nil,
	"secrets":             checkServiceSecrets,
	"configs":             checkServiceConfigs,
	"tmpfs":               nil,
	"read_only":           nil,
	"healthcheck":         checkHealthcheck,
	"extra_hosts":         nil,
	"user":                nil,
	"group_add":           nil,
	"working_dir":         nil,
	"hostname":            nil,
	"domainname":          nil,
	"dns":                 nil,
	"dns_opt":             nil,
	"dns_search":          nil,
	"cap_add":             nil,
	"cap_drop":            nil,
	"privileged":          nil,
	"security_opt":        checkSecurityOpt,
	"ipc":                 checkNamespace("ipc"),
	"pid":                 checkNamespace("pid"),
	"uts":                 checkNamespace("uts"),
	"cgroup":              checkNamespace("cgroup"),
	"userns_mode":         checkNamespace("userns_mode"),
	"runtime":             nil,
	"storage_opt":         nil,
	"ulimits":             checkUlimits,
	"sysctls":             nil,
	"logging":             checkLogging,
	"stop_signal":         nil,
	"stop_grace_period":   nil,
	"init":                nil,
	"tty":                 nil,
	"stdin_open":          nil,
	"mem_limit":           nil,
	"mem_reservation":     nil,
	"memswap_limit":       nil,
	"mem_swappiness":      nil,
	"oom_kill_disable":    nil,
	"oom_score_adj":       nil,
	"cpus":                nil,
	"cpu_shares":          nil,
	"cpu_period":          nil,
	"cpu_quota":           nil,
	"cpu_rt_period":       nil,
	"cpu_rt_runtime":      nil,
	"cpuset":              nil,
	"cgroup_parent":       nil,
	"pids_limit":          nil,
	"shm_size":            nil,
	"blkio_config":        checkBlkio,
	"devices":             checkDevices,
	"device_cgroup_rules": nil,
	"gpus":                checkGpus,
}

// unsupportedHints says why a key cannot run and what to do instead. Every
// key here is one docker compose v2 refuses too, or one that needs
// something a single Docker host does not have (a swarm, Windows, Docker
// Desktop, a newer Engine API); any other unmapped key gets defaultHint.
var unsupportedHints = map[string]string{
	"dockerfile":         "dockerfile belongs under build: write build: {context: ., dockerfile: <file>}",
	"pre_start":          "lifecycle hooks are not supported: run the command from the image's entrypoint",
	"post_start":         "lifecycle hooks are not supported: run the command from the image's entrypoint",
	"pre_stop":           "lifecycle hooks are not supported: handle the stop signal in the application",
	"log_driver":         "log_driver is the legacy spelling: use logging: {driver: ...}",
	"log_opt":            "log_opt is the legacy spelling: use logging: {options: ...}",
	"net":                "net is the legacy spelling: use network_mode:",
	"provider":           "provider services need Docker Desktop's provider plugins, which a server does not have: run the provider outside the blue-green project",
	"models":             "models need Docker Model Runner, which a server does not have: run the model server as an ordinary service with image:",
	"mac_address":        "a fixed MAC address cannot work here: blue and green run side by side during a deploy and would both claim it; remove it",
	"platform":           "platform is not supported: pull the image for the host's platform (a multi-arch tag does this)",
	"annotations":        "annotations need Docker Engine API 1.43 and bluegreen speaks 1.41: use labels:",
	"use_api_socket":     "use_api_socket is not supported: bind-mount /var/run/docker.sock with volumes: if the service needs it",
	"cpu_count":          "cpu_count only applies to Windows containers (Linux engines discard it): use cpus:",
	"cpu_percent":        "cpu_percent only applies to Windows containers (Linux engines discard it): use cpus:",
	"isolation":          "isolation only applies to Windows containers: remove it",
	"credential_spec":    "credential_spec only applies to Windows containers: remove it",
	"umask":              "umask has no Docker Engine API setting: set it in the image's entrypoint",
	"pull_refresh_after": "pull_refresh_after is not supported: use pull_policy always, missing or never",
}

func defaultHint(key string) string {
	return key + " is a compose key bluegreen does not map yet, so it cannot say how it would run: remove it, or ask for it to be mapped"
}

// hintFor returns the specific hint for an unsupported key, or the default.
func hintFor(key string) string {
	if hint, ok := unsupportedHints[key]; ok {
		return hint
	}
	return defaultHint(key)
}

// Check reports every key of the project that Up would not honour, each
// naming the key, the service and what to do instead. It returns nil or an
// *UnsupportedError; nothing is partially supported.
func Check(p *types.Project) error {
	problems := checkTopLevel(p)
	for _, name := range p.ServiceNames() {
		problems = append(problems, checkService(p, p.Services[name])...)
	}
	for _, name := range usedNetworkKeys(p) {
		problems = append(problems, checkNetwork(name, p.Networks[name])...)
	}
	for _, name := range sortedKeys(p.Volumes) {
		problems = append(problems, checkVolumeDefinition(name, p.Volumes[name])...)
	}
	problems = append(problems, checkFileObjects(p)...)
	if len(problems) == 0 {
		return nil
	}
	return &UnsupportedError{Problems: problems}
}

// topLevelKeys are the top-level sections Up handles.
var topLevelKeys = map[string]bool{"name": true, "services": true, "networks": true, "volumes": true, "secrets": true, "configs": true}

func checkTopLevel(p *types.Project) []Problem {
	var problems []Problem
	for _, key := range populatedKeys(reflect.ValueOf(*p), topLevelKeys) {
		problems = append(problems, Problem{Key: key, Hint: hintFor(key)})
	}
	return problems
}

func checkService(p *types.Project, s types.ServiceConfig) []Problem {
	problems := checkReplicas(s)
	if s.Image == "" && s.Build == nil {
		problems = append(problems, Problem{Service: s.Name, Key: "image", Hint: "a service needs image: or build: to have something to run: set one of them"})
	}
	for _, key := range populatedKeys(reflect.ValueOf(s), nil) {
		check, supported := serviceKeys[key]
		if !supported {
			problems = append(problems, Problem{Service: s.Name, Key: key, Hint: hintFor(key)})
			continue
		}
		if check != nil {
			problems = append(problems, check(p, s)...)
		}
	}
	return problems
}

// populatedKeys returns the yaml names of the struct's non-zero fields that
// are not in allowed, descending into inline (embedded) structs. Extension
// fields (x-...) and fields with no yaml name are skipped: they never reach
// a container. With allowed nil it returns every populated key.
func populatedKeys(v reflect.Value, allowed map[string]bool) []string {
	var keys []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.Anonymous && strings.Contains(opts, "inline") {
			keys = append(keys, populatedKeys(v.Field(i), allowed)...)
			continue
		}
		if name == "" || name == "-" || strings.HasPrefix(name, "#") {
			continue
		}
		if isEmpty(v.Field(i)) || allowed[name] {
			continue
		}
		keys = append(keys, name)
	}
	return keys
}

// isEmpty treats an empty map or slice like a nil one: compose-go may
// initialise a section it found nothing for.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Map, reflect.Slice:
		return v.Len() == 0
	}
	return v.IsZero()
}

// rejectKeys turns the populated keys of a nested struct that are not in
// allowed into problems under prefix.
func rejectKeys(service, prefix string, v any, allowed map[string]bool, hint func(key string) string) []Problem {
	var problems []Problem
	for _, key := range populatedKeys(reflect.ValueOf(v), allowed) {
		full := prefix + "." + key
		problems = append(problems, Problem{Service: service, Key: full, Hint: hint(full)})
	}
	return problems
}

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

// networkKeys are the network definition keys Up passes to NetworkCreate.
var (
	networkKeys  = map[string]bool{"name": true, "driver": true, "driver_opts": true, "ipam": true, "external": true, "internal": true, "attachable": true, "labels": true, "enable_ipv6": true}
	ipamKeys     = map[string]bool{"driver": true, "config": true}
	ipamPoolKeys = map[string]bool{"subnet": true, "gateway": true, "ip_range": true, "aux_addresses": true}
	volumeKeys   = map[string]bool{"name": true, "driver": true, "driver_opts": true, "external": true, "labels": true}
)

func checkNetwork(key string, n types.NetworkConfig) []Problem {
	hint := func(k string) string {
		return k + " is not supported: Docker Engine API 1.41 has no such network option; remove it"
	}
	problems := rejectKeys("", "networks."+key, n, networkKeys, hint)
	problems = append(problems, rejectKeys("", "networks."+key+".ipam", n.Ipam, ipamKeys, hint)...)
	for _, pool := range n.Ipam.Config {
		if pool != nil {
			problems = append(problems, rejectKeys("", "networks."+key+".ipam.config", *pool, ipamPoolKeys, hint)...)
		}
	}
	return problems
}

func checkVolumeDefinition(key string, v types.VolumeConfig) []Problem {
	return rejectKeys("", "volumes."+key, v, volumeKeys, defaultHint)
}

// usedNetworkKeys returns the project networks some enabled service is
// attached to; compose-go keeps the rest in the model, Up ignores them.
func usedNetworkKeys(p *types.Project) []string {
	used := map[string]bool{}
	for _, s := range p.Services {
		for name := range s.Networks {
			used[name] = true
		}
	}
	var keys []string
	for name := range p.Networks {
		if used[name] {
			keys = append(keys, name)
		}
	}
	sort.Strings(keys)
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

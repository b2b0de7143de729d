package compose

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// ErrUnsupported is what an *UnsupportedError matches with errors.Is, so a
// caller can tell "fix your compose file" from a Docker failure.
var ErrUnsupported = errors.New("the compose project uses keys bluegreen does not support")

// Problem is one key of the compose project that Up would not honour.
type Problem struct {
	// Input is the action input at fault (shared-services, say) when the
	// problem is in an input rather than in the compose file.
	Input string
	// Service is the service the key belongs to; empty for a top-level key.
	Service string
	// Key is the compose key, dotted for nested ones (deploy.replicas).
	Key string
	// Hint says why the key is rejected and what to write instead.
	Hint string
}

// String renders the problem as `service "web": build: <hint>`.
func (p Problem) String() string {
	if p.Input != "" {
		return fmt.Sprintf("%s: %s", p.Input, p.Hint)
	}
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
	"platform":            checkPlatform, // the daemon's own only: CheckPlatforms
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
	problems = append(problems, pathProblems(p)...)
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

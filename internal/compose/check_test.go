package compose

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// loadYAML loads a compose file written from content, in its own directory.
func loadYAML(t *testing.T, content string) *types.Project {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), LoadOptions{ProjectName: "check", Files: []string{file}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

// svc is a one-service compose file with extra keys under the service.
func svc(keys string) string {
	return "services:\n  web:\n    image: example/web:1\n" + indent(keys, "    ")
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestCheckRejectsUnsupportedKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		yaml    string
		service string
		key     string
		hint    string
	}{
		{"build secrets", svc("build:\n  context: .\n  secrets: [npmrc]") + "secrets:\n  npmrc:\n    file: ./npmrc\n", "web", "build.secrets", "needs BuildKit"},
		{"build ssh", svc("build:\n  context: .\n  ssh: [default]"), "web", "build.ssh", "docker/build-push-action"},
		{"build additional_contexts", svc("build:\n  context: .\n  additional_contexts:\n    src: ../src"), "web", "build.additional_contexts", "classic builder"},
		{"build privileged", svc("build:\n  context: .\n  privileged: true"), "web", "build.privileged", "needs BuildKit"},
		{"build cache_to", svc("build:\n  context: .\n  cache_to: [type=local,dest=/tmp/c]"), "web", "build.cache_to", "needs BuildKit"},
		{"build platforms", svc("build:\n  context: .\n  platforms: [linux/amd64, linux/arm64]"), "web", "build.platforms", "multi-platform image"},
		{"external secret", svc("secrets: [token]") + "secrets:\n  token:\n    external: true\n", "", "secrets.token.external", "swarm's secret store"},
		{"external config", svc("configs: [conf]") + "configs:\n  conf:\n    external: true\n", "", "configs.conf.external", "swarm's config store"},
		{"secret driver", svc("secrets: [token]") + "secrets:\n  token:\n    file: ./token\n    driver: vault\n", "", "secrets.token.driver", "give it a file: or environment: source"},
		{"config template_driver", svc("configs: [conf]") + "configs:\n  conf:\n    file: ./conf\n    template_driver: golang\n", "", "configs.conf.template_driver", "swarm"},
		{"environment secret on read_only", svc("read_only: true\nsecrets: [token]") + "secrets:\n  token:\n    environment: TOKEN\n", "web", "secrets.token", "remove read_only"},
		{"environment secret unset", svc("secrets: [token]") + "secrets:\n  token:\n    environment: NOT_SET_ANYWHERE_42\n", "web", "secrets.token", "NOT_SET_ANYWHERE_42, which is not set"},
		{"post_start", svc("post_start:\n  - command: [echo, hi]"), "web", "post_start", "lifecycle hooks are not supported"},
		{"pre_stop", svc("pre_stop:\n  - command: [echo, bye]"), "web", "pre_stop", "lifecycle hooks are not supported"},
		{"platform", svc("platform: arm64"), "web", "platform", "is not <os>/<arch>"},
		{"mac_address", svc("mac_address: 02:42:ac:11:65:43"), "web", "mac_address", "blue and green run side by side"},
		{"annotations", svc("annotations:\n  a: b"), "web", "annotations", "use labels:"},
		{"use_api_socket", svc("use_api_socket: true"), "web", "use_api_socket", "docker.sock"},
		{"cpu_count", svc("cpu_count: 2"), "web", "cpu_count", "Windows"},
		{"cpu_percent", svc("cpu_percent: 50"), "web", "cpu_percent", "Windows"},
		{"isolation", svc("isolation: process"), "web", "isolation", "Windows"},
		{"replicas with fixed host port", svc("ports: ['8080:80']\ndeploy:\n  replicas: 2"), "web", "ports", `"8080-8081:80"`},
		{"deploy.mode job", svc("deploy:\n  mode: replicated-job"), "web", "deploy.mode", "jobs need a swarm"},
		{"network_mode service with ports", svc("network_mode: service:db\nports: ['8080:80']") + "  db:\n    image: example/db:1\n", "web", "ports", "cannot publish or expose ports"},
		{"network_mode bogus", svc("network_mode: overlay"), "web", "network_mode", `network_mode "overlay" is not supported`},
		{"ipc bogus", svc("ipc: sideways"), "web", "ipc", `ipc "sideways" is not a mode`},
		{"pid bogus", svc("pid: private"), "web", "pid", "use host, service:<name> or container:<name>"},
		{"links with network_mode host", svc("network_mode: host\nlinks: [db]") + "  db:\n    image: example/db:1\n", "web", "links", "remove links"},
		{"volumes_from bad mode", svc("volumes_from: ['db:rx']") + "  db:\n    image: example/db:1\n", "web", "volumes_from", `mode "rx"`},
		{"security_opt without value", svc("security_opt: [label]"), "web", "security_opt", "is not <key>=<value>"},
		{"network ipv6_address", svc("networks:\n  default:\n    ipv6_address: 2001:db8::10"), "web", "networks.default.ipv6_address", "does not map yet"},
		{"network mac_address", svc("networks:\n  default:\n    mac_address: 02:42:ac:11:65:43"), "web", "networks.default.mac_address", "does not map yet"},
		{"network driver_opts", svc("networks:\n  default:\n    driver_opts:\n      a: b"), "web", "networks.default.driver_opts", "does not map yet"},
		{"volume type image", svc("volumes:\n  - type: image\n    source: example/data:1\n    target: /data"), "web", "volumes(/data).type", `volume type "image" is not supported`},
		{"bind recursive", svc("volumes:\n  - type: bind\n    source: ./x\n    target: /x\n    bind:\n      recursive: readonly"), "web", "volumes(/x).bind.recursive", "API 1.44"},
		{"volume subpath", svc("volumes:\n  - type: volume\n    source: data\n    target: /d\n    volume:\n      subpath: sub") + "volumes:\n  data: {}\n", "web", "volumes(/d).volume.subpath", "subpath"},
		{"pull_policy build without build", svc("pull_policy: build"), "web", "pull_policy", "needs a build: section"},
		{"pull_policy daily", svc("pull_policy: daily"), "web", "pull_policy", "keeps no record of when an image was pulled"},
		{"cdi device", svc("devices: ['vendor.com/gpu=all']"), "web", "devices", "CDI"},
		{"restart bogus", svc("restart: sometimes"), "web", "restart", `restart "sometimes" is not a restart policy`},
		{"top-level models", svc("") + "models:\n  llm:\n    model: ai/smollm2\n", "", "models", "Docker Model Runner"},
		{"service models", svc("models: [llm]") + "models:\n  llm:\n    model: ai/smollm2\n", "web", "models", "Docker Model Runner"},
		{"top-level jobs", svc("") + "jobs:\n  backup:\n    image: example/backup:1\n    triggers:\n      manual: true\n", "", "jobs", "does not map yet"},
		{"provider", "services:\n  web:\n    provider:\n      type: awesomecloud\n", "web", "provider", "Docker Desktop"},
		{"network enable_ipv4", svc("") + "networks:\n  default:\n    enable_ipv4: false\n", "", "networks.default.enable_ipv4", "not supported"},
		{"ipam options", svc("") + "networks:\n  default:\n    ipam:\n      options:\n        a: b\n", "", "networks.default.ipam.options", "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(loadYAML(t, tc.yaml))
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("Check = %v, want an *UnsupportedError", err)
			}
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("errors.Is(err, ErrUnsupported) = false")
			}
			for _, p := range ue.Problems {
				if p.Service == tc.service && p.Key == tc.key {
					if !strings.Contains(p.Hint, tc.hint) {
						t.Errorf("hint for %s = %q, want it to contain %q", tc.key, p.Hint, tc.hint)
					}
					if !strings.Contains(err.Error(), tc.key) {
						t.Errorf("error text %q does not name the key", err)
					}
					return
				}
			}
			t.Errorf("no problem for service %q key %q in %v", tc.service, tc.key, ue.Problems)
		})
	}
}

// TestCheckRequiresImage covers a project built without Load: compose-go
// rejects a service with neither image nor build while loading.
func TestCheckRequiresImage(t *testing.T) {
	t.Parallel()
	p := &types.Project{Name: "p", Services: types.Services{"web": {Name: "web"}}}
	err := Check(p)
	if err == nil || !strings.Contains(err.Error(), `service "web": image: a service needs image: or build:`) {
		t.Errorf("Check = %v, want image or build required", err)
	}
}

func TestCheckListsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	p := loadYAML(t, `services:
  web:
    build:
      context: .
      ssh: [default]
    image: example/web:1
    ports: ["8080:80"]
    deploy:
      replicas: 3
  db:
    image: example/db:1
    platform: amd64
`)
	err := Check(p)
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("Check = %v, want an *UnsupportedError", err)
	}
	want := []string{`service "db": platform`, `service "web": build.ssh`, `service "web": ports`}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not list %q:\n%s", w, err)
		}
	}
	if len(ue.Problems) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(ue.Problems), len(want), ue.Problems)
	}
}

// TestCheckAcceptsWhatRunsOnOneHost holds the keys issue 10 found refused
// although docker compose up runs them: each is accepted now.
func TestCheckAcceptsWhatRunsOnOneHost(t *testing.T) {
	t.Parallel()
	db := "  db:\n    image: example/db:1\n"
	for _, tc := range []struct{ name, yaml string }{
		{"build next to image", svc("build: .")},
		{"build without image", "services:\n  web:\n    build:\n      context: .\n      dockerfile: Dockerfile.prod\n      args: [VERSION=1]\n      target: runtime\n      labels: {a: b}\n      network: host\n      extra_hosts: ['db:10.0.0.5']\n      shm_size: 64m\n      cache_from: [example/web:cache]\n"},
		{"dockerfile_inline", "services:\n  web:\n    build:\n      dockerfile_inline: |\n        FROM scratch\n"},
		{"pull_policy build", svc("build: .\npull_policy: build")},
		{"security_opt", svc("security_opt: [no-new-privileges:true, label=disable, apparmor=unconfined, 'seccomp=./seccomp.json', systempaths=unconfined]")},
		{"file secret", svc("secrets: [token, {source: cert, target: /etc/tls/cert.pem, mode: 0400}]") + "secrets:\n  token:\n    file: ./token\n  cert:\n    file: ./cert.pem\n"},
		{"content config", svc("configs: [conf]") + "configs:\n  conf:\n    content: |\n      a=b\n"},
		{"links", svc("links: [db, 'db:database']") + db},
		{"external_links", svc("external_links: [other_db, 'other_cache:cache']")},
		{"volumes_from", svc("volumes_from: [db, 'db:ro', 'container:data-only']") + db},
		{"network_mode service", svc("network_mode: service:db") + db},
		{"network_mode container", svc("network_mode: container:vpn")},
		{"ipc, pid, uts, cgroup, userns", svc("ipc: host\npid: host\nuts: host\ncgroup: private\nuserns_mode: host")},
		{"ipc and pid service", svc("ipc: service:db\npid: service:db") + db},
		{"runtime, storage_opt", svc("runtime: runc\nstorage_opt:\n  size: 1G")},
		{"cpu and memory tuning", svc("cpu_period: 100000\ncpu_quota: 50000\ncpu_rt_period: 1000000\ncpu_rt_runtime: 950000\nmem_swappiness: 10\noom_kill_disable: true\ncgroup_parent: /bluegreen")},
		{"blkio_config", svc("blkio_config:\n  weight: 300\n  weight_device: [{path: /dev/sda, weight: 400}]\n  device_read_bps: [{path: /dev/sda, rate: 12mb}]")},
		{"devices and rules", svc("devices: ['/dev/fuse']\ndevice_cgroup_rules: ['c 1:3 mr']")},
		{"gpus", svc("gpus: all")},
		{"gpu reservation", svc("deploy:\n  resources:\n    reservations:\n      devices:\n        - driver: nvidia\n          count: 1\n          capabilities: [gpu]")},
		{"swarm-only deploy keys", svc("deploy:\n  mode: replicated\n  replicas: 1\n  labels: {a: b}\n  placement:\n    constraints: [node.role==manager]\n  update_config:\n    parallelism: 2\n  rollback_config:\n    parallelism: 1\n  endpoint_mode: vip\n  resources:\n    reservations:\n      cpus: '0.5'\n  restart_policy:\n    condition: on-failure\n    delay: 5s\n    window: 30s")},
		{"global mode", svc("deploy:\n  mode: global")},
		{"worker replicas", svc("deploy:\n  replicas: 3")},
		{"scale", svc("scale: 2")},
		{"replicas publishing a range", svc("ports: ['8081-8083:8080']\ndeploy:\n  replicas: 3")},
		{"develop", svc("develop:\n  watch:\n    - path: ./src\n      action: sync\n      target: /src")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := Check(loadYAML(t, tc.yaml)); err != nil {
				t.Errorf("Check = %v", err)
			}
		})
	}
}

func TestCheckAcceptsSupportedProjects(t *testing.T) {
	t.Parallel()
	for _, file := range []string{
		testdata(t, "full", "compose.yml"),
		testdata(t, "seed", "docker-compose.blue.yml"),
		testdata(t, "merge", "compose.yml"),
	} {
		p := mustLoad(t, LoadOptions{ProjectName: "ok", Files: []string{file}})
		if err := Check(p); err != nil {
			t.Errorf("Check(%s) = %v", file, err)
		}
	}
}

// TestCheckRejectsEveryUnmappedField sets each field of ServiceConfig in
// turn and expects Check to name it unless serviceKeys maps it. A field that
// a future compose-go adds is rejected by this rule until it is mapped.
func TestCheckRejectsEveryUnmappedField(t *testing.T) {
	t.Parallel()
	var fields []string
	forEachField(reflect.TypeOf(types.ServiceConfig{}), nil, func(key string, index []int) {
		fields = append(fields, key)
		s := types.ServiceConfig{Name: "web"}
		s.Image = "example/web:1"
		f := reflect.ValueOf(&s).Elem().FieldByIndex(index)
		if !f.IsZero() {
			return // name, image: already set
		}
		f.Set(nonZero(f.Type(), 0))
		p := &types.Project{Name: "p", Services: types.Services{"web": s}}
		err := Check(p)
		_, mapped := serviceKeys[key]
		rejected := false
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			for _, pr := range ue.Problems {
				if pr.Key == key && pr.Service == "web" && (pr.Hint == defaultHint(key) || pr.Hint == unsupportedHints[key]) {
					rejected = true
				}
			}
		}
		if !mapped && !rejected {
			t.Errorf("unmapped field %q was not rejected (Check = %v)", key, err)
		}
		if mapped && rejected {
			t.Errorf("mapped field %q was rejected outright", key)
		}
	})
	have := map[string]bool{}
	for _, f := range fields {
		have[f] = true
	}
	for key := range serviceKeys {
		if !have[key] {
			t.Errorf("serviceKeys lists %q, which is not a ServiceConfig key", key)
		}
	}
}

// TestNestedKeyListsNameRealKeys guards the allowed-key lists against
// typos: a misspelt key would reject a setting Up does map.
func TestNestedKeyListsNameRealKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		allowed map[string]bool
		of      any
	}{
		{"top level", topLevelKeys, types.Project{}},
		{"ports", portKeys, types.ServicePortConfig{}},
		{"depends_on", dependsOnKeys, types.ServiceDependency{}},
		{"healthcheck", healthcheckKeys, types.HealthCheckConfig{}},
		{"ulimits", ulimitKeys, types.UlimitsConfig{}},
		{"logging", loggingKeys, types.LoggingConfig{}},
		{"devices", deviceKeys, types.DeviceMapping{}},
		{"deploy", deployKeys, types.DeployConfig{}},
		{"deploy.resources", resourcesKeys, types.Resources{}},
		{"deploy limits", limitKeys, types.Resource{}},
		{"deploy reservations", reservationKeys, types.Resource{}},
		{"deploy.restart_policy", restartPolicyKeys, types.RestartPolicy{}},
		{"service networks", serviceNetworkKeys, types.ServiceNetworkConfig{}},
		{"volumes", volumeMountKeys, types.ServiceVolumeConfig{}},
		{"volumes bind", bindOptionKeys, types.ServiceVolumeBind{}},
		{"volumes volume", volumeOptKeys, types.ServiceVolumeVolume{}},
		{"volumes tmpfs", tmpfsOptionKeys, types.ServiceVolumeTmpfs{}},
		{"networks", networkKeys, types.NetworkConfig{}},
		{"networks ipam", ipamKeys, types.IPAMConfig{}},
		{"networks ipam config", ipamPoolKeys, types.IPAMPool{}},
		{"volume definitions", volumeKeys, types.VolumeConfig{}},
	} {
		have := map[string]bool{}
		forEachField(reflect.TypeOf(tc.of), nil, func(key string, _ []int) { have[key] = true })
		for key := range tc.allowed {
			if !have[key] {
				t.Errorf("%s: allowed key %q is not a key of %T", tc.name, key, tc.of)
			}
		}
	}
}

// forEachField calls fn with the yaml key and index of every field of a
// struct type, descending into inline embedded structs.
func forEachField(t reflect.Type, prefix []int, fn func(key string, index []int)) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		index := append(append([]int{}, prefix...), i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.Anonymous && strings.Contains(opts, "inline") {
			forEachField(f.Type, index, fn)
			continue
		}
		if !f.IsExported() || name == "" || name == "-" || strings.HasPrefix(name, "#") {
			continue
		}
		fn(name, index)
	}
}

// nonZero builds a non-zero value of any type.
func nonZero(t reflect.Type, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	if depth > 4 {
		return v
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(7)
	case reflect.Pointer:
		v.Set(reflect.New(t.Elem()))
		v.Elem().Set(nonZero(t.Elem(), depth+1))
	case reflect.Slice:
		v.Set(reflect.Append(reflect.MakeSlice(t, 0, 1), nonZero(t.Elem(), depth+1)))
	case reflect.Map:
		v.Set(reflect.MakeMap(t))
		v.SetMapIndex(nonZero(t.Key(), depth+1), nonZero(t.Elem(), depth+1))
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				v.Field(i).Set(nonZero(t.Field(i).Type, depth+1))
				break
			}
		}
	case reflect.Interface:
		v.Set(reflect.ValueOf("x"))
	}
	return v
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	p := mustLoad(t, LoadOptions{ProjectName: "myapp-green", Files: []string{testdata(t, "full", "compose.yml")}})
	got := strings.Join(Warnings(p), "\n")
	for _, want := range []string{"start_interval"} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings do not mention %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "shared-cache") || strings.Contains(got, `"cachevol"`) {
		t.Errorf("a volume with a fixed name was warned about:\n%s", got)
	}
	fixed := loadYAML(t, svc("networks: [shared]")+"networks:\n  shared:\n    name: myapp_shared\n")
	if w := strings.Join(Warnings(fixed), "\n"); !strings.Contains(w, `network "shared" has the fixed name "myapp_shared" but is not external`) {
		t.Errorf("no warning for a fixed-name network: %q", w)
	}
	if w := Warnings(mustLoad(t, LoadOptions{ProjectName: "x", Files: []string{testdata(t, "seed", "docker-compose.blue.yml")}})); len(w) != 0 {
		t.Errorf("seed project has warnings: %v", w)
	}
}

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
		{"build", svc("build: ."), "web", "build", "build is not supported: build the image in an earlier workflow step and set image:"},
		{"service secrets", svc("secrets: [token]") + "secrets:\n  token:\n    file: ./token\n", "web", "secrets", "bind-mount the file read-only with volumes:"},
		{"top-level secrets", svc("") + "secrets:\n  token:\n    file: ./token\n", "", "secrets", "secrets are not supported"},
		{"service configs", svc("configs: [conf]") + "configs:\n  conf:\n    file: ./conf\n", "web", "configs", "configs are not supported"},
		{"top-level configs", svc("") + "configs:\n  conf:\n    file: ./conf\n", "", "configs", "configs are not supported"},
		{"links", svc("links: [db]") + "  db:\n    image: example/db:1\n", "web", "links", "reach each other by service name"},
		{"external_links", svc("external_links: [other_db]"), "web", "external_links", "external: true"},
		{"volumes_from", svc("volumes_from: [db]") + "  db:\n    image: example/db:1\n", "web", "volumes_from", "mount the same volume"},
		{"develop", svc("develop:\n  watch:\n    - path: ./src\n      action: sync\n      target: /src"), "web", "develop", "docker compose watch"},
		{"post_start", svc("post_start:\n  - command: [echo, hi]"), "web", "post_start", "lifecycle hooks are not supported"},
		{"pre_stop", svc("pre_stop:\n  - command: [echo, bye]"), "web", "pre_stop", "lifecycle hooks are not supported"},
		{"gpus", svc("gpus: all"), "web", "gpus", "gpus are not supported"},
		{"platform", svc("platform: linux/arm64"), "web", "platform", "platform is not supported"},
		{"mac_address", svc("mac_address: 02:42:ac:11:65:43"), "web", "mac_address", "fixed MAC address"},
		{"annotations", svc("annotations:\n  a: b"), "web", "annotations", "use labels:"},
		{"use_api_socket", svc("use_api_socket: true"), "web", "use_api_socket", "docker.sock"},
		{"security_opt", svc("security_opt: [no-new-privileges:true]"), "web", "security_opt", "security_opt is not supported by bluegreen yet"},
		{"ipc", svc("ipc: host"), "web", "ipc", "ipc is not supported"},
		{"pid", svc("pid: host"), "web", "pid", "pid is not supported"},
		{"uts", svc("uts: host"), "web", "uts", "uts is not supported"},
		{"userns_mode", svc("userns_mode: host"), "web", "userns_mode", "userns_mode is not supported"},
		{"runtime", svc("runtime: runc"), "web", "runtime", "runtime is not supported"},
		{"cgroup_parent", svc("cgroup_parent: /x"), "web", "cgroup_parent", "cgroup_parent is not supported"},
		{"cpu_quota", svc("cpu_quota: 50000"), "web", "cpu_quota", "cpu_quota is not supported"},
		{"mem_swappiness", svc("mem_swappiness: 10"), "web", "mem_swappiness", "mem_swappiness is not supported"},
		{"oom_kill_disable", svc("oom_kill_disable: true"), "web", "oom_kill_disable", "oom_kill_disable is not supported"},
		{"blkio_config", svc("blkio_config:\n  weight: 300"), "web", "blkio_config", "blkio_config is not supported"},
		{"storage_opt", svc("storage_opt:\n  size: 1G"), "web", "storage_opt", "storage_opt is not supported"},
		{"device_cgroup_rules", svc("device_cgroup_rules: ['c 1:3 mr']"), "web", "device_cgroup_rules", "not supported"},
		{"scale", svc("scale: 3"), "web", "scale", "each color runs exactly one container"},
		{"deploy.replicas", svc("deploy:\n  replicas: 2"), "web", "deploy.replicas", "deploy.replicas 2 is not supported"},
		{"deploy.mode global", svc("deploy:\n  mode: global"), "web", "deploy.mode", "mode replicated"},
		{"deploy.placement", svc("deploy:\n  placement:\n    constraints: [node.role==manager]"), "web", "deploy.placement", "swarm"},
		{"deploy.labels", svc("deploy:\n  labels:\n    a: b"), "web", "deploy.labels", "swarm"},
		{"deploy.update_config", svc("deploy:\n  update_config:\n    parallelism: 2"), "web", "deploy.update_config", "swarm"},
		{"deploy reservations cpus", svc("deploy:\n  resources:\n    reservations:\n      cpus: '0.5'"), "web", "deploy.resources.reservations.cpus", "not supported"},
		{"deploy restart delay", svc("deploy:\n  restart_policy:\n    condition: on-failure\n    delay: 5s"), "web", "deploy.restart_policy.delay", "no Docker Engine equivalent"},
		{"network_mode service", svc("network_mode: service:db") + "  db:\n    image: example/db:1\n", "web", "network_mode", `network_mode "service:db" is not supported`},
		{"network_mode container", svc("network_mode: container:abc"), "web", "network_mode", `network_mode "container:abc" is not supported`},
		{"network ipv6_address", svc("networks:\n  default:\n    ipv6_address: 2001:db8::10"), "web", "networks.default.ipv6_address", "not supported"},
		{"network mac_address", svc("networks:\n  default:\n    mac_address: 02:42:ac:11:65:43"), "web", "networks.default.mac_address", "not supported"},
		{"network driver_opts", svc("networks:\n  default:\n    driver_opts:\n      a: b"), "web", "networks.default.driver_opts", "not supported"},
		{"volume type image", svc("volumes:\n  - type: image\n    source: example/data:1\n    target: /data"), "web", "volumes(/data).type", `volume type "image" is not supported`},
		{"bind recursive", svc("volumes:\n  - type: bind\n    source: ./x\n    target: /x\n    bind:\n      recursive: readonly"), "web", "volumes(/x).bind.recursive", "API 1.44"},
		{"volume subpath", svc("volumes:\n  - type: volume\n    source: data\n    target: /d\n    volume:\n      subpath: sub") + "volumes:\n  data: {}\n", "web", "volumes(/d).volume.subpath", "subpath"},
		{"pull_policy build", svc("pull_policy: build"), "web", "pull_policy", "use always, missing or never"},
		{"cdi device", svc("devices: ['vendor.com/gpu=all']"), "web", "devices", "CDI"},
		{"restart bogus", svc("restart: sometimes"), "web", "restart", `restart "sometimes" is not a restart policy`},
		{"top-level models", svc("") + "models:\n  llm:\n    model: ai/smollm2\n", "", "models", "models are not supported"},
		{"service models", svc("models: [llm]") + "models:\n  llm:\n    model: ai/smollm2\n", "web", "models", "models are not supported"},
		{"top-level jobs", svc("") + "jobs:\n  backup:\n    image: example/backup:1\n    triggers:\n      manual: true\n", "", "jobs", "jobs is not supported"},
		{"provider", "services:\n  web:\n    provider:\n      type: awesomecloud\n", "web", "provider", "provider services are not supported"},
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
	if err == nil || !strings.Contains(err.Error(), `service "web": image: image is required`) {
		t.Errorf("Check = %v, want image is required", err)
	}
}

func TestCheckListsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	p := loadYAML(t, `services:
  web:
    build: .
    image: example/web:1
    links: [db]
    deploy:
      replicas: 3
  db:
    image: example/db:1
    platform: linux/amd64
`)
	err := Check(p)
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("Check = %v, want an *UnsupportedError", err)
	}
	want := []string{`service "db": platform`, `service "web": build`, `service "web": links`, `service "web": deploy.replicas`}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not list %q:\n%s", w, err)
		}
	}
	if len(ue.Problems) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(ue.Problems), len(want), ue.Problems)
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
	for _, want := range []string{`volume "data" becomes "myapp-green_data"`, "external: true", "name:", "start_interval"} {
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

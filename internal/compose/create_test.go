package compose

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
)

func fullSpecs(t *testing.T, apiVersion string) (*types.Project, map[string]createSpec) {
	t.Helper()
	p := mustLoad(t, LoadOptions{ProjectName: "myapp-green", Files: []string{testdata(t, "full", "compose.yml")}})
	if err := Check(p); err != nil {
		t.Fatalf("Check: %v", err)
	}
	specs := map[string]createSpec{}
	for _, name := range p.ServiceNames() {
		spec, err := buildCreateSpec(p, p.Services[name], 1, "sha256:0123", apiVersion)
		if err != nil {
			t.Fatalf("buildCreateSpec(%s): %v", name, err)
		}
		specs[name] = spec
	}
	return p, specs
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestCreateSpecContainerConfig(t *testing.T) {
	t.Parallel()
	p, specs := fullSpecs(t, "1.41")
	api := specs["api"]
	c := api.Config
	eq(t, "name", api.Name, "myapp-green-api-1")
	eq(t, "image", c.Image, "example/api:1.2.3")
	eq(t, "cmd", []string(c.Cmd), []string{"serve", "--port", "8080"})
	eq(t, "entrypoint", []string(c.Entrypoint), []string{"/entry.sh"})
	eq(t, "env", c.Env, []string{"A=1", "EMPTY=", "FROM_FILE=yes"})
	eq(t, "user", c.User, "1000:1000")
	eq(t, "working dir", c.WorkingDir, "/srv")
	eq(t, "hostname", c.Hostname, "api-host")
	eq(t, "domainname", c.Domainname, "example.com")
	eq(t, "tty", c.Tty, true)
	eq(t, "stdin_open", c.OpenStdin, true)
	eq(t, "stop signal", c.StopSignal, "SIGINT")
	eq(t, "stop timeout", *c.StopTimeout, 90)
	wantExposed := nat.PortSet{"8080/tcp": {}, "9000/udp": {}, "9001/udp": {}, "7000/tcp": {}, "6000/tcp": {}, "5000/tcp": {}, "5100/udp": {}, "5101/udp": {}}
	eq(t, "exposed ports", c.ExposedPorts, wantExposed)
	eq(t, "healthcheck", c.Healthcheck, &container.HealthConfig{
		Test: []string{"CMD", "/probe"}, Interval: 2 * time.Second, Timeout: time.Second, StartPeriod: 3 * time.Second, Retries: 5,
	})
	eq(t, "db healthcheck (disable)", specs["db"].Config.Healthcheck.Test, []string{"NONE"})
	eq(t, "migrate name (container_name)", specs["migrate"].Name, "fixed-migrate")

	_, newer := fullSpecs(t, "1.44")
	eq(t, "start_interval on API 1.44", newer["api"].Config.Healthcheck.StartInterval, 500*time.Millisecond)

	l := c.Labels
	eq(t, "project label", l[LabelProject], "myapp-green")
	eq(t, "service label", l[LabelService], "api")
	eq(t, "number label", l[LabelContainerNumber], "1")
	eq(t, "oneoff label", l[LabelOneoff], "False")
	eq(t, "working_dir label", l[LabelWorkingDir], p.WorkingDir)
	eq(t, "config_files label", l[LabelConfigFiles], filepath.Join(p.WorkingDir, "compose.yml"))
	eq(t, "version label", l[LabelVersion], ComposeVersion)
	eq(t, "depends_on label", l[LabelDependsOn], "cache:service_started:false,db:service_healthy:false,migrate:service_completed_successfully:false")
	eq(t, "image label", l[LabelImage], "sha256:0123")
	eq(t, "user label", l["com.example.team"], "api")
	if len(l[LabelConfigHash]) != 64 {
		t.Errorf("config hash = %q, want 64 hex digits", l[LabelConfigHash])
	}
}

func TestCreateSpecHostConfig(t *testing.T) {
	t.Parallel()
	p, specs := fullSpecs(t, "1.41")
	h := specs["api"].Host
	dir := p.WorkingDir
	eq(t, "port bindings", h.PortBindings, nat.PortMap{
		"8080/tcp": {{HostPort: "8081"}},
		"9000/udp": {{HostIP: "127.0.0.1", HostPort: "9000"}},
		"9001/udp": {{HostIP: "127.0.0.1", HostPort: "9001"}},
		"7000/tcp": {{HostIP: "0.0.0.0", HostPort: "7001"}},
		"6000/tcp": {{}},
	})
	eq(t, "restart", h.RestartPolicy, container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3})
	eq(t, "binds", h.Binds, []string{filepath.Join(dir, "site") + ":/site:ro", "/var/log/api:/logs:rw,z"})
	eq(t, "mounts", h.Mounts, []mount.Mount{
		{Type: mount.TypeVolume, Source: "myapp-green_data", Target: "/data"},
		{Type: mount.TypeBind, Source: filepath.Join(dir, "conf"), Target: "/conf", BindOptions: &mount.BindOptions{Propagation: "rslave"}},
		{Type: mount.TypeVolume, Source: "shared-cache", Target: "/cache", VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
		{Type: mount.TypeTmpfs, Target: "/scratch", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1 << 20, Mode: 0o1777}},
		{Type: mount.TypeVolume, Target: "/anon"},
	})
	eq(t, "tmpfs", h.Tmpfs, map[string]string{"/run": "size=64m", "/tmp": ""})
	eq(t, "read only", h.ReadonlyRootfs, true)
	eq(t, "extra hosts", h.ExtraHosts, []string{"db.local:10.0.0.5", "host.docker.internal:host-gateway"})
	eq(t, "group add", h.GroupAdd, []string{"audio"})
	eq(t, "dns", h.DNS, []string{"1.1.1.1"})
	eq(t, "dns opt", h.DNSOptions, []string{"use-vc"})
	eq(t, "dns search", h.DNSSearch, []string{"example.com"})
	eq(t, "cap add", []string(h.CapAdd), []string{"NET_ADMIN"})
	eq(t, "cap drop", []string(h.CapDrop), []string{"ALL"})
	eq(t, "privileged", h.Privileged, true)
	eq(t, "sysctls", h.Sysctls, map[string]string{"net.core.somaxconn": "1024"})
	eq(t, "logging", h.LogConfig, container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m"}})
	eq(t, "init", *h.Init, true)
	eq(t, "shm size", h.ShmSize, int64(64<<20))
	eq(t, "oom score adj", h.OomScoreAdj, 100)
	r := h.Resources
	eq(t, "memory", r.Memory, int64(256<<20))
	eq(t, "memory reservation", r.MemoryReservation, int64(128<<20))
	eq(t, "memory swap", r.MemorySwap, int64(512<<20))
	eq(t, "nano cpus", r.NanoCPUs, int64(1.5e9))
	eq(t, "cpu shares", r.CPUShares, int64(512))
	eq(t, "cpuset", r.CpusetCpus, "0")
	eq(t, "pids", *r.PidsLimit, int64(100))
	eq(t, "devices", r.Devices, []container.DeviceMapping{{PathOnHost: "/dev/null", PathInContainer: "/dev/xnull", CgroupPermissions: "rw"}})
	eq(t, "ulimits", r.Ulimits, []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}, {Name: "nproc", Soft: 512, Hard: 512}})

	db := specs["db"].Host
	eq(t, "deploy restart policy", db.RestartPolicy, container.RestartPolicy{Name: "always", MaximumRetryCount: 2})
	eq(t, "deploy memory", db.Resources.Memory, int64(64<<20))
	eq(t, "deploy reservation", db.Resources.MemoryReservation, int64(32<<20))
	eq(t, "deploy cpus", db.Resources.NanoCPUs, int64(0.5e9))
	eq(t, "deploy pids", *db.Resources.PidsLimit, int64(50))
}

func TestCreateSpecNetworks(t *testing.T) {
	t.Parallel()
	_, specs := fullSpecs(t, "1.41")
	api := specs["api"]
	eq(t, "api network mode", string(api.Host.NetworkMode), "myapp-green_front")
	eq(t, "api endpoints at create", api.Networking.EndpointsConfig, map[string]*network.EndpointSettings{
		"myapp-green_front": {
			Aliases:    []string{"myapp-green-api-1", "api", "api-alias"},
			IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "10.231.0.10"},
		},
	})
	eq(t, "api networks connected after create", api.Connect, []networkEndpoint{
		{Network: "myapp-green_default", Endpoint: &network.EndpointSettings{Aliases: []string{"myapp-green-api-1", "api"}}},
	})
	db := specs["db"]
	eq(t, "db network mode", string(db.Host.NetworkMode), "myapp-green_default")
	eq(t, "db aliases", db.Networking.EndpointsConfig["myapp-green_default"].Aliases, []string{"myapp-green-db-1", "db"})
	migrate := specs["migrate"]
	eq(t, "network_mode host", string(migrate.Host.NetworkMode), "host")
	if migrate.Networking != nil || len(migrate.Connect) != 0 {
		t.Errorf("network_mode host has endpoints: %+v %+v", migrate.Networking, migrate.Connect)
	}
}

// TestConfigHashIgnoresWhatComposeIgnores checks that the hash, which
// docker compose compares to decide on recreating, changes with the
// container's configuration and not with depends_on or scale.
func TestConfigHashIgnoresWhatComposeIgnores(t *testing.T) {
	t.Parallel()
	base := types.ServiceConfig{Name: "web"}
	base.Image = "example/web:1"
	h0, _ := configHash(base)
	withDeps := base
	withDeps.DependsOn = types.DependsOnConfig{"db": {Condition: "service_started"}}
	one := 1
	withDeps.Scale = &one
	h1, _ := configHash(withDeps)
	if h0 != h1 {
		t.Errorf("depends_on/scale changed the hash")
	}
	changed := base
	changed.Image = "example/web:2"
	h2, _ := configHash(changed)
	if h0 == h2 {
		t.Errorf("a new image did not change the hash")
	}
	replicas := 1
	withDeploy := base
	withDeploy.Deploy = &types.DeployConfig{Replicas: &replicas}
	if _, err := configHash(withDeploy); err != nil || withDeploy.Deploy.Replicas == nil {
		t.Errorf("configHash modified the caller's deploy config")
	}
}

func TestGraphRun(t *testing.T) {
	t.Parallel()
	deps := map[string][]string{"web": {"db", "cache"}, "worker": {"web"}}
	var mu sync.Mutex
	var order []string
	err := graph{nodes: []string{"cache", "db", "web", "worker"}, deps: deps}.run(context.Background(), func(_ context.Context, n string) error {
		if n == "db" || n == "cache" {
			time.Sleep(20 * time.Millisecond) // both run at once
		}
		mu.Lock()
		order = append(order, n)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	if pos["web"] < pos["db"] || pos["web"] < pos["cache"] || pos["worker"] < pos["web"] {
		t.Errorf("order %v breaks dependencies", order)
	}

	boom := errors.New("boom")
	var ran []string
	err = graph{nodes: []string{"db", "web", "worker", "other"}, deps: deps}.run(context.Background(), func(_ context.Context, n string) error {
		mu.Lock()
		defer mu.Unlock()
		ran = append(ran, n)
		if n == "db" {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || strings.Count(err.Error(), "boom") != 1 {
		t.Errorf("err = %v, want boom once", err)
	}
	for _, n := range ran {
		if n == "web" || n == "worker" {
			t.Errorf("%s ran after its dependency failed", n)
		}
	}
	ran = nil
	optional := graph{nodes: []string{"db", "web"}, deps: deps, optional: func(node, dep string) bool { return dep == "db" }}
	err = optional.run(context.Background(), func(_ context.Context, n string) error {
		mu.Lock()
		defer mu.Unlock()
		ran = append(ran, n)
		if n == "db" {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || !slices.Contains(ran, "web") {
		t.Errorf("optional dependency: err %v, ran %v; want web to run after db failed", err, ran)
	}
	if hasCycle([]string{"a", "b"}, map[string][]string{"a": {"b"}, "b": {"a"}}) == false {
		t.Errorf("cycle not detected")
	}
	if hasCycle([]string{"web", "db"}, deps) {
		t.Errorf("false cycle")
	}
}

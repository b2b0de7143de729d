package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/blkiodev"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// oneHostProject loads a project that uses the keys issue 10 maps, with
// the files its secrets and seccomp profile point at.
func oneHostProject(t *testing.T) *types.Project {
	t.Helper()
	dir := writeFiles(t, map[string]string{
		"compose.yml": `services:
  web:
    image: example/web:1
    security_opt: [no-new-privileges:true, label=disable, "seccomp=./profiles/seccomp.json", systempaths=unconfined]
    links: [db, "db:database"]
    external_links: ["legacy-cache:cache"]
    volumes_from: [db, "db:ro", "container:data-only:rw"]
    secrets:
      - token
      - source: cert
        target: tls/cert.pem
      - source: api_key
        uid: "1000"
        gid: "1001"
        mode: 0400
    configs:
      - app_conf
      - source: inline_conf
        target: /etc/app/inline.conf
    ipc: service:db
    pid: host
    runtime: runc
    cgroup: private
    storage_opt: {size: 1G}
    cpu_period: 100000
    cpu_quota: 50000
    mem_swappiness: 10
    oom_kill_disable: true
    cgroup_parent: /bluegreen
    device_cgroup_rules: ["c 1:3 mr"]
    blkio_config:
      weight: 300
      weight_device: [{path: /dev/sda, weight: 400}]
      device_read_bps: [{path: /dev/sda, rate: 12mb}]
    gpus:
      - driver: nvidia
        count: 2
        capabilities: [utility]
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              device_ids: ["0"]
              capabilities: [gpu, compute]
  db:
    image: example/db:1
    ipc: shareable
  sidecar:
    image: example/web:1
    network_mode: service:web
  worker:
    image: example/web:1
    deploy:
      replicas: 3
secrets:
  token:
    file: ./token
  cert:
    file: ./cert.pem
  api_key:
    environment: API_KEY
configs:
  app_conf:
    file: ./app.conf
  inline_conf:
    content: "listen 8080\n"
`,
		"profiles/seccomp.json": "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n",
		"token":                 "t0k3n",
		"cert.pem":              "cert",
		"app.conf":              "a=b",
	})
	p := mustLoad(t, LoadOptions{ProjectName: "onehost-green", Files: []string{filepath.Join(dir, "compose.yml")}, Environment: map[string]string{"API_KEY": "s3cret"}})
	if err := Check(p); err != nil {
		t.Fatalf("Check: %v", err)
	}
	return p
}

func TestCreateSpecOneHostKeys(t *testing.T) {
	t.Parallel()
	p := oneHostProject(t)
	dir := p.WorkingDir
	spec, err := buildCreateSpec(p, p.Services["web"], 1, "", "1.41")
	if err != nil {
		t.Fatal(err)
	}
	h := spec.Host
	eq(t, "security opt", h.SecurityOpt, []string{"no-new-privileges:true", "label=disable", `seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`})
	eq(t, "masked paths", h.MaskedPaths, []string{})
	eq(t, "read-only paths", h.ReadonlyPaths, []string{})
	wantLinks := []string{
		"onehost-green-db-1:db", "onehost-green-db-1:db-1", "onehost-green-db-1:onehost-green-db-1",
		"onehost-green-db-1:database", "onehost-green-db-1:db-1", "onehost-green-db-1:onehost-green-db-1",
		"legacy-cache:cache",
	}
	eq(t, "links", h.Links, wantLinks)
	eq(t, "endpoint links", spec.Networking.EndpointsConfig["onehost-green_default"].Links, wantLinks)
	eq(t, "volumes_from before resolving", h.VolumesFrom, []string{"service:db", "service:db:ro", "data-only:rw"})
	eq(t, "ipc before resolving", h.IpcMode, container.IpcMode("service:db"))
	eq(t, "pid", h.PidMode, container.PidMode("host"))
	eq(t, "runtime", h.Runtime, "runc")
	eq(t, "cgroupns", h.CgroupnsMode, container.CgroupnsMode("private"))
	eq(t, "storage opt", h.StorageOpt, map[string]string{"size": "1G"})
	r := h.Resources
	eq(t, "cpu period", r.CPUPeriod, int64(100000))
	eq(t, "cpu quota", r.CPUQuota, int64(50000))
	eq(t, "swappiness", *r.MemorySwappiness, int64(10))
	eq(t, "oom kill disable", *r.OomKillDisable, true)
	eq(t, "cgroup parent", r.CgroupParent, "/bluegreen")
	eq(t, "device cgroup rules", r.DeviceCgroupRules, []string{"c 1:3 mr"})
	eq(t, "blkio weight", r.BlkioWeight, uint16(300))
	eq(t, "blkio weight device", r.BlkioWeightDevice, []*blkiodev.WeightDevice{{Path: "/dev/sda", Weight: 400}})
	eq(t, "blkio read bps", r.BlkioDeviceReadBps, []*blkiodev.ThrottleDevice{{Path: "/dev/sda", Rate: 12 << 20}})
	eq(t, "device requests", r.DeviceRequests, []container.DeviceRequest{
		{Driver: "nvidia", Count: 2, Capabilities: [][]string{{"utility", "gpu"}}},
		{Driver: "nvidia", DeviceIDs: []string{"0"}, Capabilities: [][]string{{"gpu", "compute"}}},
	})
	eq(t, "secret and config mounts", h.Mounts, []mount.Mount{
		{Type: mount.TypeBind, Source: filepath.Join(dir, "token"), Target: "/run/secrets/token", ReadOnly: true},
		{Type: mount.TypeBind, Source: filepath.Join(dir, "cert.pem"), Target: "/run/secrets/tls/cert.pem", ReadOnly: true},
		{Type: mount.TypeBind, Source: filepath.Join(dir, "app.conf"), Target: "/app_conf", ReadOnly: true},
	})
	eq(t, "copies", spec.Copy, []fileCopy{
		{Kind: "secret", Name: "api_key", Target: "/run/secrets/api_key", Content: []byte("s3cret"), UID: 1000, GID: 1001, Mode: 0o400, SetOwner: true},
		{Kind: "config", Name: "inline_conf", Target: "/etc/app/inline.conf", Content: []byte("listen 8080\n"), Mode: 0o444},
	})

	ids := map[string]string{"db": "dbid", "web": "webid"}
	lookup := func(s string) (string, bool) { id, ok := ids[s]; return id, ok }
	if err := resolveServiceRefs(h, lookup); err != nil {
		t.Fatal(err)
	}
	eq(t, "volumes_from", h.VolumesFrom, []string{"dbid", "dbid:ro", "data-only:rw"})
	eq(t, "ipc", h.IpcMode, container.IpcMode("container:dbid"))

	side, err := buildCreateSpec(p, p.Services["sidecar"], 1, "", "1.41")
	if err != nil {
		t.Fatal(err)
	}
	if err := resolveServiceRefs(side.Host, lookup); err != nil {
		t.Fatal(err)
	}
	eq(t, "network_mode service", side.Host.NetworkMode, container.NetworkMode("container:webid"))
	eq(t, "create order", serviceRefs(p.Services["web"]), []string{"db"})
	eq(t, "create order of sidecar", serviceRefs(p.Services["sidecar"]), []string{"web"})
	if err := resolveServiceRefs(&container.HostConfig{NetworkMode: "service:nope"}, lookup); err == nil {
		t.Error("a reference to a service without a container resolved")
	}

	for n := 1; n <= 3; n++ {
		w, err := buildCreateSpec(p, p.Services["worker"], n, "", "1.41")
		if err != nil {
			t.Fatal(err)
		}
		name := "onehost-green-worker-" + string(rune('0'+n))
		eq(t, "replica name", w.Name, name)
		eq(t, "replica number label", w.Config.Labels[LabelContainerNumber], string(rune('0'+n)))
		eq(t, "replica aliases", w.Networking.EndpointsConfig["onehost-green_default"].Aliases, []string{name, "worker"})
	}
}

func TestCreateSpecSeccompProfileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, profile, want string }{
		{"missing", "", "no such file"},
		{"not JSON", "{nope", "it is not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{"compose.yml": svc("security_opt: ['seccomp=./seccomp.json']")}
			if tc.profile != "" {
				files["seccomp.json"] = tc.profile
			}
			dir := writeFiles(t, files)
			p := mustLoad(t, LoadOptions{ProjectName: "x", Files: []string{filepath.Join(dir, "compose.yml")}})
			_, err := buildCreateSpec(p, p.Services["web"], 1, "", "1.41")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "seccomp profile") {
				t.Errorf("buildCreateSpec = %v, want an error about the seccomp profile containing %q", err, tc.want)
			}
		})
	}
}

func TestCheckFileSources(t *testing.T) {
	t.Parallel()
	p := oneHostProject(t)
	if err := checkFileSources(p, p.Services["web"]); err != nil {
		t.Errorf("checkFileSources = %v", err)
	}
	if err := os.Remove(filepath.Join(p.WorkingDir, "cert.pem")); err != nil {
		t.Fatal(err)
	}
	err := checkFileSources(p, p.Services["web"])
	if err == nil || !strings.Contains(err.Error(), "secret cert of service web") {
		t.Errorf("checkFileSources = %v, want it to name secret cert", err)
	}
}

func TestIgnoredKeysAreWarnedOnce(t *testing.T) {
	t.Parallel()
	p := loadYAML(t, svc(`deploy:
  labels: {a: b}
  placement:
    constraints: [node.role==manager]
  update_config: {parallelism: 2}
  rollback_config: {parallelism: 1}
  endpoint_mode: vip
  resources:
    reservations:
      cpus: '0.5'
  restart_policy:
    condition: on-failure
    delay: 5s
develop:
  watch:
    - path: ./src
      action: sync
      target: /src
secrets:
  - source: token
    mode: 0400
`)+"secrets:\n  token:\n    file: ./token\n")
	got := Warnings(p)
	for _, key := range []string{"deploy.labels", "deploy.placement", "deploy.update_config", "deploy.rollback_config", "deploy.endpoint_mode", "deploy.resources.reservations.cpus", "deploy.restart_policy.delay", "develop", "secrets.token uid, gid and mode"} {
		n := 0
		for _, w := range got {
			if strings.Contains(w, `service "web": `+key+" is ignored") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d warnings about %s, want 1:\n%s", n, key, strings.Join(got, "\n"))
		}
	}
}

//go:build e2e

package compose

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// The conformance test holds the engine to its promise: for every supported
// key, the container Up creates is the one docker compose would create. The
// peer is the machine's docker-compose (v1.29, the tool the seed's
// deploy.sh runs). Each project under testdata/compose is created once by
// the peer and once by Up, with the same project name, one after the other;
// both are inspected and every field that decides how the app runs is
// compared. A difference fails the test unless knownDifferences lists it
// with its reason; KNOWN-DIFFERENCES.md repeats that table for the README.

// conformanceFiles names the -f files of the projects that do not use
// compose.yml alone, in merge order.
var conformanceFiles = map[string][]string{
	"seed":   {"docker-compose.blue.yml"},
	"merged": {"compose.yml", "compose.prod.yml"},
}

// conformanceEnv is the extra shell environment of some projects.
var conformanceEnv = map[string]map[string]string{
	"profiles":      {"COMPOSE_PROFILES": "monitoring"},
	"interpolation": {"OVERRIDDEN": "from-shell"},
}

// TestConformanceWithDockerComposeV1 creates every project under
// testdata/compose with docker-compose and with Up and compares them.
func TestConformanceWithDockerComposeV1(t *testing.T) {
	t.Parallel()
	bin := requireDockerComposeV1(t)
	img := testenv.AppImage(t)
	cli := testenv.RequireDocker(t)
	root := filepath.Join(testenv.RepoRoot(t), "testdata", "compose")
	dirs := conformanceDirs(t, root, kindV1)
	if len(dirs) < 18 {
		t.Fatalf("testdata/compose holds %d projects docker-compose v1 can read, want at least eighteen", len(dirs))
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	ran := 0
	t.Run("projects", func(t *testing.T) {
		for _, dir := range dirs {
			t.Run(dir, func(t *testing.T) {
				t.Parallel()
				known := conformProject(t, cli, []string{bin}, knownDifferences, img, root, dir)
				mu.Lock()
				defer mu.Unlock()
				ran++
				for _, k := range known {
					seen[k] = true
				}
			})
		}
	})
	if t.Failed() || ran < len(dirs) {
		return // a failure, or -run picked some projects only
	}
	for _, kd := range knownDifferences {
		if !seen[kd.Field+": "+kd.Ours] {
			t.Errorf("known difference %s (%s) was not seen in any project: remove it from knownDifferences and KNOWN-DIFFERENCES.md", kd.Field, kd.Ours)
		}
	}
}

// TestConformanceWithDockerComposeV2 holds the engine to docker compose v2
// itself (the CLI plugin scripts/setup.sh builds), the tool whose
// create.go the mapping follows: every project docker-compose v1 reads is
// created by both, with no difference allowed but those in
// knownDifferencesV2.
func TestConformanceWithDockerComposeV2(t *testing.T) {
	t.Parallel()
	peer := requireDockerComposeV2(t)
	img := testenv.AppImage(t)
	cli := testenv.RequireDocker(t)
	root := filepath.Join(testenv.RepoRoot(t), "testdata", "compose")
	dirs := conformanceDirs(t, root, kindV1)
	t.Run("projects", func(t *testing.T) {
		for _, dir := range dirs {
			t.Run(dir, func(t *testing.T) {
				t.Parallel()
				conformProject(t, cli, peer, knownDifferencesV2, img, root, dir)
			})
		}
	})
}

// requireDockerComposeV2 returns the command that runs docker compose v2.
func requireDockerComposeV2(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "compose", "version", "--short").Output()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(out)), "2.") {
		if testenv.InCI() {
			t.Fatalf("docker compose v2 is required in CI (scripts/setup.sh installs it): %v %s", err, out)
		}
		t.Skipf("docker compose v2 not installed (scripts/setup.sh installs it): %v", err)
	}
	return []string{"docker", "compose"}
}

// conformProject runs one project through both tools and compares them.
// peer is the command that runs the other tool; known are the differences
// from it that are allowed. It returns the known differences it saw.
func conformProject(t *testing.T, cli *client.Client, peerCmd []string, known []knownDifference, img, root, name string) []string {
	dir := filepath.Join(t.TempDir(), name)
	if err := throwaway.CopyDir(filepath.Join(root, name), dir); err != nil {
		t.Fatal(err)
	}
	project := newProjectName(t) + "-" + name
	env := conformanceEnvironment(t, cli, img, project)
	for k, v := range conformanceEnv[name] {
		env[k] = v
	}
	files := conformanceFiles[name]
	if files == nil {
		files = []string{"compose.yml"}
	}
	t.Cleanup(func() { removeProject(cli, project, env["UNIQ"]+"-shared") })

	// The peer first: up, inspect, down with its volumes, so that Up
	// creates everything afresh.
	args := []string{"-p", project}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	peerStart := time.Now()
	runPeer(t, peerCmd, dir, env, append(args, "up", "-d")...)
	peerUp := time.Since(peerStart)
	peer := inspectProject(t, cli, project)
	runPeer(t, peerCmd, dir, env, append(args, "down", "-v", "-t", "0")...)

	abs := make([]string, len(files))
	for i, f := range files {
		abs[i] = filepath.Join(dir, f)
	}
	p, err := Load(context.Background(), LoadOptions{ProjectName: project, Files: abs, WorkingDir: dir, Environment: env})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	e := &Engine{Docker: cli}
	ensureConformanceImages(t, cli, e, p)
	ourStart := time.Now()
	if _, err := e.Up(ctxTimeout(t, 2*time.Minute), p); err != nil {
		t.Fatalf("Up: %v", err)
	}
	ourUp := time.Since(ourStart)
	ours := inspectProject(t, cli, project)
	t.Logf("up: %s %s, ours %s", strings.Join(peerCmd, " "), peerUp.Round(time.Millisecond), ourUp.Round(time.Millisecond))
	return compareProjects(t, ours, peer, known)
}

// conformanceEnvironment is the shell environment every project is
// interpolated with (see testdata/compose/README.md). It creates the
// external network and volume the projects expect.
func conformanceEnvironment(t *testing.T, cli *client.Client, img, project string) map[string]string {
	t.Helper()
	ctx := ctxTimeout(t, time.Minute)
	extNet, extVol := project+"-ext", project+"-uploads"
	if _, err := cli.NetworkCreate(ctx, extNet, network.CreateOptions{Driver: "bridge"}); err != nil {
		t.Fatalf("failed to create external network %s: %v", extNet, err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), extNet) })
	if _, err := cli.VolumeCreate(ctx, volume.CreateOptions{Name: extVol}); err != nil {
		t.Fatalf("failed to create external volume %s: %v", extVol, err)
	}
	t.Cleanup(func() { _ = cli.VolumeRemove(context.Background(), extVol, true) })
	lo := testenv.FreePorts(t, 2)
	a, b := randInt(t, 50)+200, randInt(t, 256)
	return map[string]string{
		"APP_IMAGE":  img,
		"UNIQ":       project,
		"PORT_A":     strconv.Itoa(testenv.FreePort(t)),
		"PORT_B":     strconv.Itoa(testenv.FreePort(t)),
		"PORT_C":     strconv.Itoa(testenv.FreePort(t)),
		"PORT_RANGE": fmt.Sprintf("%d-%d", lo, lo+1),
		"EXT_NET":    extNet,
		"EXT_VOLUME": extVol,
		"ABS_DIR":    t.TempDir(),
		"SUBNET":     fmt.Sprintf("10.%d.%d.0/24", a, b),
		"STATIC_IP":  fmt.Sprintf("10.%d.%d.10", a, b),
		"FROM_SHELL": "shell-value",
	}
}

// runPeer runs the peer tool with only env and what it needs to reach the
// daemon, so that nothing else from the test's environment leaks into the
// interpolation.
func runPeer(t *testing.T, peer []string, dir string, env map[string]string, args ...string) string {
	t.Helper()
	cmd := exec.Command(peer[0], append(append([]string{}, peer[1:]...), args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "COMPOSE_INTERACTIVE_NO_CLI=1", "COMPOSE_HTTP_TIMEOUT=300"}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+h)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", strings.Join(peer, " "), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// removeProject removes whatever either tool left of project.
func removeProject(cli *client.Client, project string, extraVolumes ...string) {
	throwaway.RemoveProject(cli, project)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, v := range extraVolumes {
		_ = cli.VolumeRemove(ctx, v, true)
	}
}

// view is one inspected object reduced to the fields compared, each
// normalised to JSON values (maps, slices, strings, numbers).
type view map[string]any

// projectView is everything one tool created for a project, keyed by the
// compose service, network or volume name.
type projectView struct {
	Containers map[string]view
	Networks   map[string]view
	Volumes    map[string]view
}

var anonymousVolume = regexp.MustCompile(`^[0-9a-f]{64}$`)

// inspectProject inspects the project's containers, networks and volumes.
// Values that Docker generates per container (its id as hostname and
// alias, anonymous volume names, subnets from the default pools) and the
// project name are replaced by placeholders, so that both tools' views can
// be compared as they are.
func inspectProject(t *testing.T, cli *client.Client, project string) projectView {
	t.Helper()
	ctx := ctxTimeout(t, time.Minute)
	pv := projectView{Containers: map[string]view{}, Networks: map[string]view{}, Volumes: map[string]view{}}
	byLabel := filters.NewArgs(filters.Arg("label", LabelProject+"="+project))
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: byLabel})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		info, err := cli.ContainerInspect(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		pv.Containers[containerKey(info.Config.Labels)] = containerView(info, project)
	}
	nets, err := cli.NetworkList(ctx, network.ListOptions{Filters: byLabel})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		info, err := cli.NetworkInspect(ctx, n.ID, network.InspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Keyed by name: v1 labels a network with a fixed name: by that
		// name, v2 and we by its key in the file (see knownDifferences).
		pv.Networks[strings.ReplaceAll(info.Name, project, "<project>")] = networkView(info, project)
	}
	vols, err := cli.VolumeList(ctx, volume.ListOptions{Filters: byLabel})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vols.Volumes {
		// Keyed by name: v1 labels a volume with a fixed name: by that
		// name, v2 and we by its key in the file.
		pv.Volumes[strings.ReplaceAll(v.Name, project, "<project>")] = normalise(map[string]any{
			"Driver":  v.Driver,
			"Options": v.Options,
			"Labels":  userLabels(v.Labels),
		}, project)
	}
	return pv
}

func containerView(info container.InspectResponse, project string) view {
	cfg, hc := info.Config, info.HostConfig
	short := info.ID[:12]
	name := strings.TrimPrefix(info.Name, "/")
	hostname := cfg.Hostname
	if hostname == short {
		hostname = "<container id>"
	}
	nets := map[string]any{}
	for netName, ep := range info.NetworkSettings.Networks {
		var aliases []string
		for _, a := range ep.Aliases {
			switch a {
			case short:
				// Docker adds the short id on user networks for both tools.
			case name:
				aliases = append(aliases, "<container name>")
			default:
				aliases = append(aliases, a)
			}
		}
		sort.Strings(aliases)
		ip := ""
		if ep.IPAMConfig != nil {
			ip = ep.IPAMConfig.IPv4Address
		}
		nets[netName] = map[string]any{"Aliases": aliases, "IPv4Address": ip}
	}
	v := map[string]any{
		"Name":         name,
		"Image":        cfg.Image,
		"ImageID":      info.Image,
		"Cmd":          cfg.Cmd,
		"Entrypoint":   cfg.Entrypoint,
		"Env":          sorted(cfg.Env),
		"ExposedPorts": cfg.ExposedPorts,
		"Healthcheck":  cfg.Healthcheck,
		"User":         cfg.User,
		"WorkingDir":   cfg.WorkingDir,
		"Labels":       userLabels(cfg.Labels),
		"Hostname":     hostname,
		"Domainname":   cfg.Domainname,
		"Tty":          cfg.Tty,
		"OpenStdin":    cfg.OpenStdin,
		"StdinOnce":    cfg.StdinOnce,
		"StopSignal":   cfg.StopSignal,
		"StopTimeout":  cfg.StopTimeout,
		"State":        fmt.Sprintf("%s (exit code %d)", info.State.Status, info.State.ExitCode),
		"PortBindings": hc.PortBindings,
		"Restart":      hc.RestartPolicy,
		"NetworkMode":  string(hc.NetworkMode),
		"Networks":     nets,
		"Mounts":       mountsView(info),
		"Tmpfs":        hc.Tmpfs,
		"ReadonlyRoot": hc.ReadonlyRootfs,
		"CapAdd":       sorted(hc.CapAdd),
		"CapDrop":      sorted(hc.CapDrop),
		"Privileged":   hc.Privileged,
		"Sysctls":      hc.Sysctls,
		"Dns":          hc.DNS,
		"DnsOptions":   hc.DNSOptions,
		"DnsSearch":    hc.DNSSearch,
		"ExtraHosts":   sorted(hc.ExtraHosts),
		"GroupAdd":     hc.GroupAdd,
		"Init":         hc.Init,
		"LogConfig":    hc.LogConfig,
		"ShmSize":      hc.ShmSize,
		"OomScoreAdj":  hc.OomScoreAdj,
		"Memory":       hc.Memory,
		"MemoryRes":    hc.MemoryReservation,
		"MemorySwap":   hc.MemorySwap,
		"NanoCpus":     hc.NanoCPUs,
		"CpuShares":    hc.CPUShares,
		"CpusetCpus":   hc.CpusetCpus,
		"PidsLimit":    hc.PidsLimit,
		"Ulimits":      sortedUlimits(hc.Ulimits),
		"Devices":      hc.Devices,
	}
	addOneHostFields(v, info)
	return normalise(v, project)
}

// mountsView describes every mount by what the container sees: type,
// source (host path or volume name), target, writability, and the options
// set through the mount API (propagation, nocopy, tmpfs size and mode).
func mountsView(info container.InspectResponse) []map[string]any {
	opts := map[string]map[string]any{}
	for _, m := range info.HostConfig.Mounts {
		o := map[string]any{}
		if m.BindOptions != nil && m.BindOptions.Propagation != "" {
			o["Propagation"] = m.BindOptions.Propagation
		}
		if m.VolumeOptions != nil && m.VolumeOptions.NoCopy {
			o["NoCopy"] = true
		}
		if m.TmpfsOptions != nil {
			o["TmpfsSize"] = m.TmpfsOptions.SizeBytes
			o["TmpfsMode"] = m.TmpfsOptions.Mode
		}
		opts[m.Target] = o
	}
	var out []map[string]any
	for _, m := range info.Mounts {
		src := m.Source
		if m.Type == "volume" {
			src = m.Name
			if anonymousVolume.MatchString(src) {
				src = "<anonymous>"
			}
		}
		e := map[string]any{"Type": string(m.Type), "Source": src, "Target": m.Destination, "RW": m.RW}
		for k, v := range opts[m.Destination] {
			e[k] = v
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["Target"].(string) < out[j]["Target"].(string) })
	return out
}

func networkView(info network.Inspect, project string) view {
	var pools []map[string]any
	for _, c := range info.IPAM.Config {
		subnet, gateway := c.Subnet, c.Gateway
		if inDefaultPools(subnet) {
			subnet, gateway = "<default pool>", "<default pool>"
		}
		pools = append(pools, map[string]any{"Subnet": subnet, "Gateway": gateway, "IPRange": c.IPRange})
	}
	return normalise(map[string]any{
		"Name":       info.Name,
		"Driver":     info.Driver,
		"Internal":   info.Internal,
		"Attachable": info.Attachable,
		"EnableIPv6": info.EnableIPv6,
		"Options":    info.Options,
		"IPAMDriver": info.IPAM.Driver,
		"IPAMConfig": pools,
		"Labels":     userLabels(info.Labels),
		// com.docker.compose.network, which the other compose labels are
		// not compared with: it is how docker compose finds the network.
		"ComposeNetworkLabel": info.Labels[LabelNetwork],
	}, project)
}

// inDefaultPools reports a subnet Docker picked itself (172.16.0.0/12 or
// 192.168.0.0/16): it differs from run to run.
func inDefaultPools(subnet string) bool {
	_, n, err := net.ParseCIDR(subnet)
	if err != nil {
		return false
	}
	for _, pool := range []string{"172.16.0.0/12", "192.168.0.0/16"} {
		_, p, _ := net.ParseCIDR(pool)
		if p.Contains(n.IP) {
			return true
		}
	}
	return false
}

// userLabels drops compose's bookkeeping labels (com.docker.compose.*):
// they hold each tool's version, hash and file list.
func userLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if !strings.HasPrefix(k, "com.docker.compose.") {
			out[k] = v
		}
	}
	return out
}

// sortedUlimits orders ulimits by name: the order has no meaning, and v1
// keeps the file's while we sort.
func sortedUlimits(in []*container.Ulimit) []*container.Ulimit {
	out := append([]*container.Ulimit(nil), in...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

// normalise turns v into plain JSON values with the project name replaced
// by <project>, so that values compare with reflect-free equality.
func normalise(v map[string]any, project string) view {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	data = []byte(strings.ReplaceAll(string(data), project, "<project>"))
	var out view
	if err := json.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	return out
}

func compact(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// describeDiff shows both values, or for two lists only the elements
// that are not in both, which keeps a long mount list readable.
func describeDiff(ours, peer any) string {
	o, oList := ours.([]any)
	p, pList := peer.([]any)
	if !oList || !pList {
		return fmt.Sprintf("\n  ours:           %s\n  docker-compose: %s", compact(ours), compact(peer))
	}
	only := func(a, b []any) []string {
		in := map[string]bool{}
		for _, x := range b {
			in[compact(x)] = true
		}
		var out []string
		for _, x := range a {
			if !in[compact(x)] {
				out = append(out, compact(x))
			}
		}
		return out
	}
	oo, po := only(o, p), only(p, o)
	if len(oo) == 0 && len(po) == 0 {
		return fmt.Sprintf(" in order\n  ours:           %s\n  docker-compose: %s", compact(ours), compact(peer))
	}
	return fmt.Sprintf("\n  only ours:           %s\n  only docker-compose: %s", strings.Join(oo, ", "), strings.Join(po, ", "))
}

// compareProjects reports every difference between the two views that no
// known difference explains, and returns the known ones it saw.
func compareProjects(t *testing.T, ours, peer projectView, known []knownDifference) []string {
	t.Helper()
	var seen []string
	compareSet := func(kind string, o, p map[string]view) {
		for _, name := range unionKeys(o, p) {
			ov, inOurs := o[name]
			pv, inPeer := p[name]
			switch {
			case !inOurs:
				t.Errorf("%s %s: docker-compose created it, we did not", kind, name)
				continue
			case !inPeer:
				t.Errorf("%s %s: we created it, docker-compose did not", kind, name)
				continue
			}
			for _, field := range unionKeys(ov, pv) {
				if jsonEqual(ov[field], pv[field]) {
					continue
				}
				key := kind + "." + field
				explained := false
				for _, kd := range known {
					if kd.Field == key && kd.Match(ov[field], pv[field]) {
						seen = append(seen, kd.Field+": "+kd.Ours)
						explained = true
						break
					}
				}
				if !explained {
					t.Errorf("%s %s: %s differs%s", kind, name, field, describeDiff(ov[field], pv[field]))
				}
			}
		}
	}
	compareSet("container", ours.Containers, peer.Containers)
	compareSet("network", ours.Networks, peer.Networks)
	compareSet("volume", ours.Volumes, peer.Volumes)
	return seen
}

func unionKeys[V any](a, b map[string]V) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	return sortedKeys(set)
}

func randInt(t *testing.T, n int64) int {
	t.Helper()
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		t.Fatal(err)
	}
	return int(v.Int64())
}

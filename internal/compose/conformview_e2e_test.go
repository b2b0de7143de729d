//go:build e2e

package compose

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

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

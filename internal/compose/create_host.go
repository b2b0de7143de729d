package compose

// A service's host config: resources, restart, ports, logging, ulimits,
// volumes, as docker compose v2 maps them (see create.go).

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/blkiodev"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"
)

// exposedPorts is expose plus every published port's target, as in
// compose. Expose entries may be ranges ("3000-3005/udp"), so they go
// through nat's parser, which expands them.
func exposedPorts(s types.ServiceConfig) (nat.PortSet, error) {
	set := nat.PortSet{}
	if len(s.Expose) > 0 {
		exposed, _, err := nat.ParsePortSpecs(s.Expose)
		if err != nil {
			return nil, fmt.Errorf("failed to parse expose of service %s: %w", s.Name, err)
		}
		for p := range exposed {
			set[p] = struct{}{}
		}
	}
	for _, p := range s.Ports {
		set[portKey(p)] = struct{}{}
	}
	return set, nil
}

func portKey(p types.ServicePortConfig) nat.Port {
	proto := p.Protocol
	if proto == "" {
		proto = "tcp"
	}
	return nat.Port(fmt.Sprintf("%d/%s", p.Target, proto))
}

// portBindings publishes ports. compose-go has already expanded the short
// syntax (ranges, host IP, protocol) into one entry per container port; a
// host range against one container port stays a range, which Docker binds
// to the first free port in it.
func portBindings(s types.ServiceConfig) nat.PortMap {
	m := nat.PortMap{}
	for _, p := range s.Ports {
		k := portKey(p)
		m[k] = append(m[k], nat.PortBinding{HostIP: p.HostIP, HostPort: p.Published})
	}
	return m
}

// restartPolicy reads restart ("on-failure:3" included), with
// deploy.restart_policy taking precedence as in docker compose.
func restartPolicy(s types.ServiceConfig) container.RestartPolicy {
	var rp container.RestartPolicy
	if s.Restart != "" {
		mode, count, _ := strings.Cut(s.Restart, ":")
		n, _ := strconv.Atoi(count)
		rp = container.RestartPolicy{Name: restartMode(mode), MaximumRetryCount: n}
	}
	if s.Deploy != nil && s.Deploy.RestartPolicy != nil {
		d := s.Deploy.RestartPolicy
		rp = container.RestartPolicy{Name: restartMode(d.Condition)}
		if d.MaxAttempts != nil {
			rp.MaximumRetryCount = int(*d.MaxAttempts)
		}
	}
	return rp
}

func restartMode(condition string) container.RestartPolicyMode {
	switch condition {
	case "none", "no":
		return container.RestartPolicyDisabled
	case "any", "always":
		return container.RestartPolicyAlways
	case "on-failure":
		return container.RestartPolicyOnFailure
	case "unless-stopped":
		return container.RestartPolicyUnlessStopped
	}
	return container.RestartPolicyMode(condition)
}

// extraHosts renders extra_hosts as host:ip, the form API 1.41 takes.
func extraHosts(h types.HostsList) []string {
	if len(h) == 0 {
		return nil
	}
	list := h.AsList(":")
	sort.Strings(list)
	return list
}

// tmpfsMap turns the tmpfs list ("/run:size=64m") into Docker's map.
func tmpfsMap(list types.StringList) map[string]string {
	if len(list) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, t := range list {
		path, opts, _ := strings.Cut(t, ":")
		m[path] = opts
	}
	return m
}

func logConfig(l *types.LoggingConfig) container.LogConfig {
	if l == nil {
		return container.LogConfig{}
	}
	return container.LogConfig{Type: l.Driver, Config: l.Options}
}

// resources maps the resource keys, deploy.resources winning over the
// service-level ones as in docker compose.
func resources(s types.ServiceConfig) container.Resources {
	r := container.Resources{
		CgroupParent:       s.CgroupParent,
		Memory:             int64(s.MemLimit),
		MemoryReservation:  int64(s.MemReservation),
		MemorySwap:         int64(s.MemSwapLimit),
		NanoCPUs:           int64(s.CPUS * 1e9),
		CPUShares:          s.CPUShares,
		CPUPeriod:          s.CPUPeriod,
		CPUQuota:           s.CPUQuota,
		CPURealtimePeriod:  s.CPURTPeriod,
		CPURealtimeRuntime: s.CPURTRuntime,
		CpusetCpus:         s.CPUSet,
		DeviceCgroupRules:  s.DeviceCgroupRules,
		Ulimits:            ulimits(s.Ulimits),
	}
	if s.MemSwappiness != 0 {
		swappiness := int64(s.MemSwappiness)
		r.MemorySwappiness = &swappiness
	}
	if s.OomKillDisable {
		disable := true
		r.OomKillDisable = &disable
	}
	blkio(s.BlkioConfig, &r)
	for _, g := range s.Gpus {
		r.DeviceRequests = append(r.DeviceRequests, container.DeviceRequest{
			Driver: g.Driver, Count: int(g.Count), DeviceIDs: g.IDs,
			Capabilities: [][]string{append(append([]string{}, g.Capabilities...), "gpu")},
			Options:      g.Options,
		})
	}
	if s.PidsLimit != 0 {
		pids := s.PidsLimit
		r.PidsLimit = &pids
	}
	for _, d := range s.Devices {
		r.Devices = append(r.Devices, container.DeviceMapping{PathOnHost: d.Source, PathInContainer: d.Target, CgroupPermissions: d.Permissions})
	}
	if s.Deploy != nil {
		deployResources(s.Deploy.Resources, &r)
	}
	return r
}

func deployResources(d types.Resources, r *container.Resources) {
	if l := d.Limits; l != nil {
		if l.MemoryBytes != 0 {
			r.Memory = int64(l.MemoryBytes)
		}
		if l.NanoCPUs != 0 {
			r.NanoCPUs = int64(l.NanoCPUs * 1e9)
		}
		if l.Pids > 0 {
			pids := l.Pids
			r.PidsLimit = &pids
		}
	}
	if res := d.Reservations; res != nil {
		if res.MemoryBytes != 0 {
			r.MemoryReservation = int64(res.MemoryBytes)
		}
		for _, dev := range res.Devices {
			r.DeviceRequests = append(r.DeviceRequests, container.DeviceRequest{
				Driver: dev.Driver, Count: int(dev.Count), DeviceIDs: dev.IDs,
				Capabilities: [][]string{dev.Capabilities}, Options: dev.Options,
			})
		}
	}
}

// blkio maps blkio_config; the engine checks that the devices exist.
func blkio(b *types.BlkioConfig, r *container.Resources) {
	if b == nil {
		return
	}
	r.BlkioWeight = b.Weight
	for _, w := range b.WeightDevice {
		r.BlkioWeightDevice = append(r.BlkioWeightDevice, &blkiodev.WeightDevice{Path: w.Path, Weight: w.Weight})
	}
	throttle := func(list []types.ThrottleDevice) []*blkiodev.ThrottleDevice {
		var out []*blkiodev.ThrottleDevice
		for _, t := range list {
			out = append(out, &blkiodev.ThrottleDevice{Path: t.Path, Rate: uint64(t.Rate)})
		}
		return out
	}
	r.BlkioDeviceReadBps = throttle(b.DeviceReadBps)
	r.BlkioDeviceReadIOps = throttle(b.DeviceReadIOps)
	r.BlkioDeviceWriteBps = throttle(b.DeviceWriteBps)
	r.BlkioDeviceWriteIOps = throttle(b.DeviceWriteIOps)
}

func ulimits(m map[string]*types.UlimitsConfig) []*container.Ulimit {
	var out []*container.Ulimit
	for _, name := range sortedKeys(m) {
		u := m[name]
		soft, hard := u.Single, u.Single
		if u.Soft != 0 {
			soft = u.Soft
		}
		if u.Hard != 0 {
			hard = u.Hard
		}
		out = append(out, &container.Ulimit{Name: name, Soft: int64(soft), Hard: int64(hard)})
	}
	return out
}

// volumeMounts splits volumes the way docker compose does: plain binds go
// through the Binds strings, because only they create a missing host
// directory; binds with options that need it (create_host_path: false,
// propagation), named and anonymous volumes and tmpfs go through Mounts.
func volumeMounts(p *types.Project, s types.ServiceConfig) ([]string, []mount.Mount) {
	var binds []string
	var mounts []mount.Mount
	for _, v := range s.Volumes {
		switch v.Type {
		case types.VolumeTypeBind:
			if !needsMountAPI(v.Bind) {
				binds = append(binds, v.String())
				continue
			}
			mounts = append(mounts, mount.Mount{
				Type: mount.TypeBind, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly,
				Consistency: mount.Consistency(v.Consistency),
				BindOptions: &mount.BindOptions{Propagation: mount.Propagation(v.Bind.Propagation)},
			})
		case types.VolumeTypeVolume:
			m := mount.Mount{Type: mount.TypeVolume, Source: volumeName(p, v.Source), Target: v.Target, ReadOnly: v.ReadOnly, Consistency: mount.Consistency(v.Consistency)}
			if v.Volume != nil && v.Volume.NoCopy {
				m.VolumeOptions = &mount.VolumeOptions{NoCopy: true}
			}
			mounts = append(mounts, m)
		case types.VolumeTypeTmpfs:
			m := mount.Mount{Type: mount.TypeTmpfs, Target: v.Target, ReadOnly: v.ReadOnly}
			if v.Tmpfs != nil {
				m.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: int64(v.Tmpfs.Size), Mode: os.FileMode(v.Tmpfs.Mode)}
			}
			mounts = append(mounts, m)
		}
	}
	return binds, mounts
}

func needsMountAPI(b *types.ServiceVolumeBind) bool {
	return b != nil && (!bool(b.CreateHostPath) || b.Propagation != "")
}

// volumeName is the Docker name of a volume source: the project volume's
// name (<project>_<key> unless name: or external say otherwise), or the
// source as written for an anonymous or undeclared volume.
func volumeName(p *types.Project, source string) string {
	if v, ok := p.Volumes[source]; ok && v.Name != "" {
		return v.Name
	}
	return source
}

package compose

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/go-connections/nat"
)

// createSpec is everything needed to create one service's container: the
// three ContainerCreate bodies and the networks to connect before start.
// Engines before API 1.44 take a single endpoint at create time, so every
// network after the primary one is connected separately.
type createSpec struct {
	Name       string
	Config     *container.Config
	Host       *container.HostConfig
	Networking *network.NetworkingConfig
	Connect    []networkEndpoint
}

// networkEndpoint is a network to connect a created container to.
type networkEndpoint struct {
	Network  string
	Endpoint *network.EndpointSettings
}

// buildCreateSpec maps a checked service onto Docker create calls the way
// docker compose's getCreateConfigs does. apiVersion is the negotiated
// Engine API version; it decides what older engines cannot be sent.
func buildCreateSpec(p *types.Project, s types.ServiceConfig, imageID, apiVersion string) (createSpec, error) {
	labels, err := containerLabels(p, s, imageID)
	if err != nil {
		return createSpec{}, err
	}
	exposed, err := exposedPorts(s)
	if err != nil {
		return createSpec{}, err
	}
	name := containerName(p.Name, s)
	cfg := &container.Config{
		Hostname:     s.Hostname,
		Domainname:   s.DomainName,
		User:         s.User,
		ExposedPorts: exposed,
		Tty:          s.Tty,
		OpenStdin:    s.StdinOpen,
		AttachStdout: true,
		AttachStderr: true,
		Env:          envList(s.Environment),
		Image:        s.Image,
		WorkingDir:   s.WorkingDir,
		Labels:       labels,
		StopSignal:   s.StopSignal,
		StopTimeout:  stopTimeout(s.StopGracePeriod),
		Healthcheck:  healthConfig(s.HealthCheck, apiVersion),
	}
	if s.Command != nil {
		cfg.Cmd = strslice.StrSlice(s.Command)
	}
	if s.Entrypoint != nil {
		cfg.Entrypoint = strslice.StrSlice(s.Entrypoint)
	}
	binds, mounts := volumeMounts(p, s)
	host := &container.HostConfig{
		Binds:          binds,
		Mounts:         mounts,
		PortBindings:   portBindings(s),
		RestartPolicy:  restartPolicy(s),
		CapAdd:         strslice.StrSlice(s.CapAdd),
		CapDrop:        strslice.StrSlice(s.CapDrop),
		DNS:            s.DNS,
		DNSOptions:     s.DNSOpts,
		DNSSearch:      s.DNSSearch,
		ExtraHosts:     extraHosts(s.ExtraHosts),
		GroupAdd:       s.GroupAdd,
		OomScoreAdj:    int(s.OomScoreAdj),
		Privileged:     s.Privileged,
		ReadonlyRootfs: s.ReadOnly,
		ShmSize:        int64(s.ShmSize),
		Sysctls:        s.Sysctls,
		Tmpfs:          tmpfsMap(s.Tmpfs),
		Init:           s.Init,
		LogConfig:      logConfig(s.Logging),
		Resources:      resources(s),
	}
	spec := createSpec{Name: name, Config: cfg, Host: host}
	networkSettings(p, s, name, &spec)
	return spec, nil
}

// envList renders the environment as KEY=VALUE, sorted for a stable
// create call. A key without a value (compose-go found none to resolve it)
// is passed bare, which Docker treats as unset, as docker compose does.
func envList(env types.MappingWithEquals) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		if v == nil {
			out = append(out, k)
			continue
		}
		out = append(out, k+"="+*v)
	}
	sort.Strings(out)
	return out
}

// stopTimeout turns stop_grace_period into whole seconds, rounded down as
// docker compose does.
func stopTimeout(d *types.Duration) *int {
	if d == nil {
		return nil
	}
	secs := int(time.Duration(*d).Seconds())
	return &secs
}

// healthConfig maps healthcheck; disable becomes the NONE test that turns
// off a healthcheck the image defines. start_interval is dropped on engines
// before API 1.44, which reject it (docker compose drops it too).
func healthConfig(hc *types.HealthCheckConfig, apiVersion string) *container.HealthConfig {
	if hc == nil {
		return nil
	}
	out := &container.HealthConfig{Test: hc.Test}
	if hc.Disable {
		out.Test = []string{"NONE"}
	}
	out.Interval = duration(hc.Interval)
	out.Timeout = duration(hc.Timeout)
	out.StartPeriod = duration(hc.StartPeriod)
	if apiVersion == "" || versions.GreaterThanOrEqualTo(apiVersion, "1.44") {
		out.StartInterval = duration(hc.StartInterval)
	}
	if hc.Retries != nil {
		out.Retries = int(*hc.Retries)
	}
	return out
}

func duration(d *types.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

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
		Memory:            int64(s.MemLimit),
		MemoryReservation: int64(s.MemReservation),
		MemorySwap:        int64(s.MemSwapLimit),
		NanoCPUs:          int64(s.CPUS * 1e9),
		CPUShares:         s.CPUShares,
		CpusetCpus:        s.CPUSet,
		Ulimits:           ulimits(s.Ulimits),
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
	if res := d.Reservations; res != nil && res.MemoryBytes != 0 {
		r.MemoryReservation = int64(res.MemoryBytes)
	}
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

// networkSettings attaches the container: network_mode as given, or the
// highest-priority network at create time and the others after, each with
// the container name, the service name and the configured aliases.
func networkSettings(p *types.Project, s types.ServiceConfig, name string, spec *createSpec) {
	if s.NetworkMode != "" {
		spec.Host.NetworkMode = container.NetworkMode(s.NetworkMode)
		return
	}
	keys := s.NetworksByPriority()
	if len(keys) == 0 {
		spec.Host.NetworkMode = "none"
		return
	}
	for i, key := range keys {
		netName := p.Networks[key].Name
		ep := endpointSettings(s, name, s.Networks[key])
		if i == 0 {
			spec.Host.NetworkMode = container.NetworkMode(netName)
			spec.Networking = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: ep}}
			continue
		}
		spec.Connect = append(spec.Connect, networkEndpoint{Network: netName, Endpoint: ep})
	}
}

func endpointSettings(s types.ServiceConfig, name string, cfg *types.ServiceNetworkConfig) *network.EndpointSettings {
	ep := &network.EndpointSettings{Aliases: []string{name, s.Name}}
	if cfg == nil {
		return ep
	}
	ep.Aliases = append(ep.Aliases, cfg.Aliases...)
	if cfg.Ipv4Address != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: cfg.Ipv4Address}
	}
	return ep
}

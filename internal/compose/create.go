package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/blkiodev"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/go-connections/nat"
)

// createSpec is everything needed to create one container of a service:
// the three ContainerCreate bodies, the networks to connect before start,
// and the secret and config contents to write into it before start.
// Engines before API 1.44 take a single endpoint at create time, so every
// network after the primary one is connected separately.
type createSpec struct {
	Service    string
	Number     int
	Name       string
	Config     *container.Config
	Host       *container.HostConfig
	Networking *network.NetworkingConfig
	Connect    []networkEndpoint
	Copy       []fileCopy
}

// networkEndpoint is a network to connect a created container to.
type networkEndpoint struct {
	Network  string
	Endpoint *network.EndpointSettings
}

// buildCreateSpec maps a checked service onto the create calls of its
// container number (1 for the first) the way docker compose's
// getCreateConfigs does. apiVersion is the negotiated Engine API version;
// it decides what older engines cannot be sent. References to other
// services (network_mode, ipc and pid service:<name>, volumes_from) are
// left as service:<name> for resolveServiceRefs, since the container they
// name does not exist yet.
func buildCreateSpec(p *types.Project, s types.ServiceConfig, number int, imageID, apiVersion string) (createSpec, error) {
	labels, err := containerLabels(p, s, number, imageID)
	if err != nil {
		return createSpec{}, err
	}
	exposed, err := exposedPorts(s)
	if err != nil {
		return createSpec{}, err
	}
	securityOpt, unconfined, err := securityOpts(p, s)
	if err != nil {
		return createSpec{}, err
	}
	name := containerName(p.Name, s, number)
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
	fileMounts, copies, err := fileObjects(p, s)
	if err != nil {
		return createSpec{}, err
	}
	mounts = appendUnlessTarget(s, mounts, fileMounts)
	host := &container.HostConfig{
		Binds:          binds,
		Mounts:         mounts,
		VolumesFrom:    volumesFrom(s),
		VolumeDriver:   s.VolumeDriver,
		PortBindings:   portBindings(s),
		RestartPolicy:  restartPolicy(s),
		CapAdd:         strslice.StrSlice(s.CapAdd),
		CapDrop:        strslice.StrSlice(s.CapDrop),
		SecurityOpt:    securityOpt,
		DNS:            s.DNS,
		DNSOptions:     s.DNSOpts,
		DNSSearch:      s.DNSSearch,
		ExtraHosts:     extraHosts(s.ExtraHosts),
		GroupAdd:       s.GroupAdd,
		IpcMode:        container.IpcMode(s.Ipc),
		PidMode:        container.PidMode(s.Pid),
		UTSMode:        container.UTSMode(s.Uts),
		UsernsMode:     container.UsernsMode(s.UserNSMode),
		CgroupnsMode:   container.CgroupnsMode(s.Cgroup),
		Runtime:        s.Runtime,
		StorageOpt:     s.StorageOpt,
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
	if unconfined {
		host.MaskedPaths = []string{}
		host.ReadonlyPaths = []string{}
	}
	spec := createSpec{Service: s.Name, Number: number, Name: name, Config: cfg, Host: host, Copy: copies}
	links := serviceLinks(p, s, number)
	host.Links = links
	networkSettings(p, s, name, links, &spec)
	return spec, nil
}

// securityOpts maps security_opt as docker compose does: a seccomp
// profile given as a file is read (relative to the project directory) and
// sent as its compacted JSON, since the engine takes the profile itself,
// not a path; systempaths=unconfined becomes empty masked and read-only
// path lists.
func securityOpts(p *types.Project, s types.ServiceConfig) ([]string, bool, error) {
	var out []string
	unconfined := false
	for _, opt := range s.SecurityOpt {
		if opt == "systempaths=unconfined" {
			unconfined = true
			continue
		}
		key, value, err := splitSecurityOpt(opt)
		if err != nil {
			return nil, false, fmt.Errorf("failed to read security_opt of service %s: %w", s.Name, err)
		}
		if key != "seccomp" || value == "unconfined" || value == "builtin" {
			out = append(out, opt)
			continue
		}
		path := value
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.WorkingDir, path)
		}
		data, err := readSmallFile(path, MaxFileSize)
		if err != nil {
			return nil, false, fmt.Errorf("failed to read the seccomp profile of service %s: %w", s.Name, err)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, data); err != nil {
			return nil, false, fmt.Errorf("failed to read the seccomp profile %s of service %s: it is not JSON: %w", path, s.Name, err)
		}
		out = append(out, "seccomp="+b.String())
	}
	return out, unconfined, nil
}

// readSmallFile reads a regular file of at most limit bytes.
func readSmallFile(path string, limit int64) ([]byte, error) {
	if err := checkFile("file", path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("file %s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// volumesFrom maps volumes_from: a container is named as it is; a service
// stays service:<name> until resolveServiceRefs knows its container.
func volumesFrom(s types.ServiceConfig) []string {
	var out []string
	for _, v := range s.VolumesFrom {
		ref, mode, err := parseVolumesFrom(v)
		if err != nil {
			continue // Check refused it
		}
		entry := ref.container
		if ref.service != "" {
			entry = types.ServicePrefix + ref.service
		}
		if mode != "" {
			entry += ":" + mode
		}
		out = append(out, entry)
	}
	return out
}

// resolveServiceRefs replaces service:<name> in network_mode, ipc, pid and
// volumes_from by the container that the named service runs (its first
// one), as docker compose does; id returns it.
func resolveServiceRefs(h *container.HostConfig, id func(service string) (string, bool)) error {
	resolve := func(key, value string) (string, error) {
		name, ok := strings.CutPrefix(value, types.ServicePrefix)
		if !ok {
			return value, nil
		}
		svc, rest, _ := strings.Cut(name, ":")
		cid, ok := id(svc)
		if !ok {
			return "", fmt.Errorf("%s refers to service %s, whose container was not created", key, svc)
		}
		if key == "volumes_from" {
			if rest != "" {
				return cid + ":" + rest, nil
			}
			return cid, nil
		}
		return types.ContainerPrefix + cid, nil
	}
	var err error
	var v string
	if v, err = resolve("network_mode", string(h.NetworkMode)); err != nil {
		return err
	}
	h.NetworkMode = container.NetworkMode(v)
	if v, err = resolve("ipc", string(h.IpcMode)); err != nil {
		return err
	}
	h.IpcMode = container.IpcMode(v)
	if v, err = resolve("pid", string(h.PidMode)); err != nil {
		return err
	}
	h.PidMode = container.PidMode(v)
	for i, from := range h.VolumesFrom {
		if h.VolumesFrom[i], err = resolve("volumes_from", from); err != nil {
			return err
		}
	}
	return nil
}

// serviceRefs lists the services whose containers must exist before this
// service's are created: Docker resolves network_mode, ipc, pid,
// volumes_from and legacy links when it creates a container.
func serviceRefs(s types.ServiceConfig) []string {
	set := map[string]bool{}
	for _, v := range []string{s.NetworkMode, s.Ipc, s.Pid} {
		if name, ok := strings.CutPrefix(v, types.ServicePrefix); ok {
			set[name] = true
		}
	}
	for _, v := range s.VolumesFrom {
		if ref, _, err := parseVolumesFrom(v); err == nil && ref.service != "" {
			set[ref.service] = true
		}
	}
	for _, l := range s.Links {
		name, _, _ := strings.Cut(l, ":")
		set[name] = true
	}
	delete(set, s.Name)
	return sortedKeys(set)
}

// serviceLinks maps links and external_links the way docker compose does
// (its getLinks, after docker-compose v1): each container of a linked
// service is linked under the alias, under <service>-<n> and under
// <project>-<service>-<n>, n being this container's number; an external
// link is passed as written.
func serviceLinks(p *types.Project, s types.ServiceConfig, number int) []string {
	var links []string
	for _, l := range s.Links {
		svc, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = svc
		}
		target, found := p.Services[svc]
		if !found {
			continue // Check refused it
		}
		n := strconv.Itoa(number)
		for i := 1; i <= max(replicas(target), 1); i++ {
			name := containerName(p.Name, target, i)
			links = append(links, name+":"+alias, name+":"+svc+"-"+n, name+":"+p.Name+"-"+svc+"-"+n)
		}
	}
	for _, l := range s.ExternalLinks {
		name, alias, ok := strings.Cut(l, ":")
		if !ok {
			alias = name
		}
		links = append(links, name+":"+alias)
	}
	return links
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

// networkSettings attaches the container: network_mode as given, or the
// highest-priority network at create time and the others after, each with
// the container name, the service name and the configured aliases.
func networkSettings(p *types.Project, s types.ServiceConfig, name string, links []string, spec *createSpec) {
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
		ep := endpointSettings(s, name, links, s.Networks[key])
		if i == 0 {
			spec.Host.NetworkMode = container.NetworkMode(netName)
			spec.Networking = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: ep}}
			continue
		}
		spec.Connect = append(spec.Connect, networkEndpoint{Network: netName, Endpoint: ep})
	}
}

func endpointSettings(s types.ServiceConfig, name string, links []string, cfg *types.ServiceNetworkConfig) *network.EndpointSettings {
	ep := &network.EndpointSettings{Aliases: []string{name, s.Name}, Links: links}
	if cfg == nil {
		return ep
	}
	ep.Aliases = append(ep.Aliases, cfg.Aliases...)
	if cfg.Ipv4Address != "" {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: cfg.Ipv4Address}
	}
	return ep
}

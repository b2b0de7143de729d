package compose

import (
	"sort"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/docker/api/types/versions"
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
		if info := infoOf(p); info != nil && info.SharedNetworks[key] {
			// Both colors join the shared services' network: under their
			// container names only, or green's "web" would answer blue's.
			ep.Aliases = []string{name}
		}
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

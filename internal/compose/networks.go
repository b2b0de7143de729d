package compose

// A project's networks and volumes: created with compose's labels,
// found again by them, and recreated when the compose file changed what a
// network cannot change in place.

import (
	"context"
	"fmt"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

// ensureNetworks creates the project networks the services use, or reuses
// ones this project created before (same name and project label). An
// external network must exist.
func (e *Engine) ensureNetworks(ctx context.Context, p *types.Project) error {
	for _, key := range usedNetworkKeys(p) {
		n := p.Networks[key]
		var err error
		if n.External {
			err = e.findExternalNetwork(ctx, n.Name)
		} else {
			err = e.ensureNetwork(ctx, p, key, n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) findExternalNetwork(ctx context.Context, name string) error {
	found, err := e.networksNamed(ctx, name)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return fmt.Errorf("failed to find external network %s: %w: create it first (docker network create %s)", name, ErrNotFound, name)
	}
	return nil
}

func (e *Engine) ensureNetwork(ctx context.Context, p *types.Project, key string, n types.NetworkConfig) error {
	for attempt := 0; ; attempt++ {
		found, err := e.networksNamed(ctx, n.Name)
		if err != nil {
			return err
		}
		want := networkCreateOptions(p, key, n)
		var others []network.Summary
		for _, nw := range found {
			if nw.Labels[LabelProject] != p.Name {
				others = append(others, nw)
				continue
			}
			why := networkDiffers(nw, want)
			if why == "" {
				return nil
			}
			// Kept from an earlier run, but the compose file changed it:
			// recreate it, as docker compose does.
			if err := e.Docker.NetworkRemove(ctx, nw.ID); err != nil {
				return fmt.Errorf("failed to recreate network %s (%s): %w", n.Name, why, err)
			}
		}
		found = others
		if len(found) > 0 {
			owner := found[0].Labels[LabelProject]
			return fmt.Errorf("failed to create network %s: %w: it exists and belongs to project %q, not %s; set external: true on network %s to share it, or remove it", n.Name, ErrNameInUse, owner, p.Name, key)
		}
		_, err = e.Docker.NetworkCreate(ctx, n.Name, want)
		if err == nil {
			return nil
		}
		if !cerrdefs.IsConflict(err) || attempt > 0 {
			return fmt.Errorf("failed to create network %s: %w", n.Name, err)
		}
		// Another Up of the same project created it meanwhile: look again.
	}
}

// networksNamed lists the networks with exactly this name; the API's name
// filter also matches substrings.
func (e *Engine) networksNamed(ctx context.Context, name string) ([]network.Summary, error) {
	list, err := e.Docker.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return nil, fmt.Errorf("failed to list networks named %s: %w", name, err)
	}
	var out []network.Summary
	for _, nw := range list {
		if nw.Name == name {
			out = append(out, nw)
		}
	}
	return out, nil
}

// networkDiffers says how an existing network of the project differs from
// the one the compose file asks for ("" when it does not), on what a
// network cannot change after its creation.
func networkDiffers(nw network.Summary, want network.CreateOptions) string {
	driver := want.Driver
	if driver == "" {
		driver = "bridge"
	}
	switch {
	case nw.Driver != driver:
		return fmt.Sprintf("driver %s, want %s", nw.Driver, driver)
	case nw.Internal != want.Internal:
		return "internal changed"
	case nw.Attachable != want.Attachable:
		return "attachable changed"
	case nw.EnableIPv6 != (want.EnableIPv6 != nil && *want.EnableIPv6):
		return "enable_ipv6 changed"
	}
	for k, v := range want.Options {
		if nw.Options[k] != v {
			return "driver_opts changed"
		}
	}
	for k, v := range want.Labels {
		if k != LabelVersion && nw.Labels[k] != v {
			return "labels changed"
		}
	}
	if want.IPAM != nil {
		var have []string
		for _, c := range nw.IPAM.Config {
			have = append(have, c.Subnet)
		}
		for _, c := range want.IPAM.Config {
			if c.Subnet != "" && !slices.Contains(have, c.Subnet) {
				return "ipam subnet changed"
			}
		}
	}
	return ""
}

// networkCreateOptions carries the compose labels (network, project,
// version) but no config hash: docker compose recreates a network whose
// hash differs from its own computation, and a missing hash is accepted.
func networkCreateOptions(p *types.Project, key string, n types.NetworkConfig) network.CreateOptions {
	labels := map[string]string{}
	for k, v := range n.Labels {
		labels[k] = v
	}
	labels[LabelNetwork] = key
	labels[LabelProject] = p.Name
	labels[LabelVersion] = ComposeVersion
	opts := network.CreateOptions{
		Driver:     n.Driver,
		Options:    n.DriverOpts,
		Internal:   n.Internal,
		Attachable: n.Attachable,
		EnableIPv6: n.EnableIPv6,
		Labels:     labels,
	}
	if n.Ipam.Driver != "" || len(n.Ipam.Config) > 0 {
		opts.IPAM = &network.IPAM{Driver: n.Ipam.Driver}
		for _, pool := range n.Ipam.Config {
			if pool == nil {
				continue
			}
			opts.IPAM.Config = append(opts.IPAM.Config, network.IPAMConfig{
				Subnet: pool.Subnet, IPRange: pool.IPRange, Gateway: pool.Gateway, AuxAddress: pool.AuxiliaryAddresses,
			})
		}
	}
	return opts
}

// ensureVolumes creates the named volumes the services mount (with the
// compose labels) unless they exist; an external volume must exist.
func (e *Engine) ensureVolumes(ctx context.Context, p *types.Project) error {
	for _, key := range usedVolumeKeys(p) {
		v := p.Volumes[key]
		_, err := e.Docker.VolumeInspect(ctx, v.Name)
		if err == nil {
			continue
		}
		if !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("failed to inspect volume %s: %w", v.Name, err)
		}
		if v.External {
			return fmt.Errorf("failed to find external volume %s: %w: create it first (docker volume create %s)", v.Name, ErrNotFound, v.Name)
		}
		labels := map[string]string{}
		for k, val := range v.Labels {
			labels[k] = val
		}
		labels[LabelVolume] = key
		labels[LabelProject] = p.Name
		if info := infoOf(p); info != nil && v.Name == info.Base+"_"+key {
			labels[LabelProject] = info.Base // one volume for every part: docker compose's for the app
		}
		labels[LabelVersion] = ComposeVersion
		if _, err := e.Docker.VolumeCreate(ctx, volume.CreateOptions{Name: v.Name, Driver: v.Driver, DriverOpts: v.DriverOpts, Labels: labels}); err != nil {
			return fmt.Errorf("failed to create volume %s: %w", v.Name, err)
		}
	}
	return nil
}

// usedVolumeKeys returns the project volumes some enabled service mounts.
func usedVolumeKeys(p *types.Project) []string {
	used := map[string]bool{}
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				if _, ok := p.Volumes[v.Source]; ok {
					used[v.Source] = true
				}
			}
		}
	}
	return sortedKeys(used)
}

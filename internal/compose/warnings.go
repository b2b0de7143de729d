package compose

import (
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
)

// Warnings returns findings that do not stop a deploy but probably surprise
// the user, in a stable order. The main one: a named volume that is neither
// external nor given a fixed name: becomes <project>_<name>, so the blue
// and the green project each get their own, empty, copy of the data. The
// mirror image for networks: a network with a fixed name: that is not
// external belongs to whichever color created it first, so the other
// color's Up refuses it.
func Warnings(p *types.Project) []string {
	var out []string
	for _, key := range usedNetworkKeys(p) {
		n := p.Networks[key]
		if !n.External && n.Name != p.Name+"_"+key {
			out = append(out, fmt.Sprintf("network %q has the fixed name %q but is not external: the first color to deploy owns it and the other color cannot use it; "+
				"set external: true and create it once with docker network create %s", key, n.Name, n.Name))
		}
	}
	for _, key := range usedVolumeKeys(p) {
		v := p.Volumes[key]
		if !v.External && v.Name == p.Name+"_"+key {
			out = append(out, fmt.Sprintf("volume %q becomes %q in project %s, so blue and green each get their own copy of the data: "+
				"to share it, set external: true (and create it once with docker volume create) or a fixed name: on the volume", key, v.Name, p.Name))
		}
	}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.HealthCheck != nil && s.HealthCheck.StartInterval != nil {
			out = append(out, fmt.Sprintf("service %q: healthcheck.start_interval needs Docker Engine 25 (API 1.44); older engines ignore it", name))
		}
	}
	return out
}

package cli

import (
	"context"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// trafficTarget gives a deploy what canary steps and maintenance need of
// nginx beyond the switch: the evidence nginx logs beside the include,
// and the maintenance page written there too. Paths are as nginx names
// them in the include and as this process sees them on disk: the same on
// the host, through the container's mounts for nginx in a container.
func trafficTarget(ctx context.Context, docker nginx.DockerAPI, cfg *config.Config, opts Options, sw *nginx.Switcher, t *deploy.Target) {
	ev := &nginx.EvidenceFiles{Switcher: sw, IncludePath: cfg.Nginx.IncludePath}
	if cfg.Nginx.Container != "" && cfg.Canary.Enabled() {
		if ct, err := nginx.OpenContainer(ctx, docker, cfg.Nginx.Container, opts.Procfs); err == nil {
			ev.HostPath = ct.HostPath
		}
	}
	t.Evidence = ev
	t.WritePage = func(page []byte) (string, error) {
		if err := nginx.WritePage(nginx.MaintenancePagePath(sw.IncludePath), page); err != nil {
			return "", err
		}
		return nginx.MaintenancePagePath(cfg.Nginx.IncludePath), nil
	}
}

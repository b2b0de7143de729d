package cli

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// newSwitcher builds the nginx switch for where nginx runs. On the host
// (the seed) the include is written where nginx-include-path says and the
// commands run on the host. With nginx-container the include path is the
// one inside that container: it is written on the host through the
// container's mount of its directory, the commands run inside the
// container through the Docker API, and only the container's own nginx
// processes confirm the reload. networks are the user networks the nginx
// container is attached to (none on the host or with network_mode host),
// for choosing the new color's {{.ContainerIP}}.
func newSwitcher(ctx context.Context, docker nginx.DockerAPI, cfg *config.Config, opts Options, rep *report.Reporter) (sw *nginx.Switcher, networks []string, err error) {
	sw = &nginx.Switcher{
		IncludePath: cfg.Nginx.IncludePath,
		TestCmd:     cfg.Nginx.TestCmd,
		ReloadCmd:   cfg.Nginx.ReloadCmd,
		Procfs:      opts.Procfs,
		Logf:        rep.Infof,
		Warnf:       rep.Warnf,
	}
	sw.CheckAt = checkAt(cfg.Nginx.VerifyURL)
	name := cfg.Nginx.Container
	if name == "" {
		return sw, nil, nil
	}
	ct, err := nginx.OpenContainer(ctx, docker, name, opts.Procfs)
	if err != nil {
		return nil, nil, err
	}
	ct.Warnf = rep.Warnf
	host, err := ct.HostPath(cfg.Nginx.IncludePath)
	if err != nil {
		return nil, nil, err
	}
	sw.IncludePath = host
	sw.Run = ct.Run
	sw.Owns = ct.Owns
	where := "network_mode host"
	if !ct.HostNetwork {
		where = "networks " + strings.Join(ct.Networks, ", ")
	}
	rep.Infof("nginx runs in container %s (pid %d, %s); its include %s is written at %s on this host", ct.Name, ct.PID, where, cfg.Nginx.IncludePath, host)
	return sw, ct.Networks, nil
}

// nginxFailure classifies a failure to set up the nginx switch: a setup
// the user must change (a single-file mount, an include outside the
// container's mounts) touches nothing and is an invalid input; anything
// else is a failed deploy. Input problems never get here: config.Parse
// reports them first.
func nginxFailure(err error) error {
	if errors.Is(err, nginx.ErrSingleFileMount) || errors.Is(err, nginx.ErrIncludeNotMounted) {
		return invalid(err)
	}
	return err
}

// checkAt is the front door whose marker a failed switch asks, so that its
// message says what nginx serves: verify-url's scheme and host, when it
// names no other path than the marker's. Empty without verify-url: the
// include and the master are still checked.
func checkAt(verifyURL string) nginx.FrontDoor {
	u, err := url.Parse(verifyURL)
	if verifyURL == "" || err != nil || u.Host == "" {
		return nginx.FrontDoor{}
	}
	if p := u.Path; p != "" && p != "/" && p != nginx.MarkerPath {
		return nginx.FrontDoor{}
	}
	return nginx.FrontDoor{URL: u.Scheme + "://" + u.Host}
}

package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// Live is what the find phase learned: the color nginx serves, how that
// was decided, and what runs.
type Live struct {
	Color         color.Color
	How           string
	Include       []byte
	IncludeExists bool
	// Running holds each color's running containers.
	Running map[color.Color][]compose.Container
}

// findLive reads the live color from the include (what nginx serves) and
// cross-checks it with the running containers. Disagreement is reported;
// when nothing says which color serves and both run, it refuses to guess.
func (r *run) findLive(ctx context.Context) error {
	data, exists, err := r.d.Nginx.Read()
	if err != nil {
		return fmt.Errorf("failed to read the nginx include %s: %w", r.cfg.Nginx.IncludePath, err)
	}
	live := Live{Include: data, IncludeExists: exists, Running: map[color.Color][]compose.Container{}}
	blue := r.templateData(r.plans[color.Blue], compose.Container{})
	green := r.templateData(r.plans[color.Green], compose.Container{})
	fromInclude, how, err := nginx.ParseLive(data, blue, green, r.tmpl)
	if err != nil {
		return fmt.Errorf("failed to read the live color from %s: %w", r.cfg.Nginx.IncludePath, err)
	}
	for _, c := range color.All {
		cs, err := r.d.Engine.List(ctx, r.cfg.ProjectFor(c))
		if err != nil {
			return fmt.Errorf("failed to list the containers of %s: %w", r.cfg.ProjectFor(c), err)
		}
		for _, ct := range cs {
			if ct.Running {
				live.Running[c] = append(live.Running[c], ct)
			}
		}
	}
	running := func(c color.Color) bool { return len(live.Running[c]) > 0 }
	describe := func(c color.Color) string {
		if running(c) {
			return fmt.Sprintf("%s running (%s)", c, containerNames(live.Running[c]))
		}
		return fmt.Sprintf("%s not running", c)
	}
	state := describe(color.Blue) + "; " + describe(color.Green)

	switch {
	case !exists:
		live.How = fmt.Sprintf("%s does not exist yet", r.cfg.Nginx.IncludePath)
	default:
		live.How = fmt.Sprintf("%s: %s", r.cfg.Nginx.IncludePath, how)
	}
	live.Color = fromInclude

	switch {
	case fromInclude != color.None && !running(fromInclude):
		r.d.Report.Warnf("nginx points at %s, but %s has no running container (%s): requests fail until this deploy switches to %s", fromInclude, fromInclude, state, fromInclude.Other())
	case fromInclude == color.None && running(color.Blue) && running(color.Green):
		return fmt.Errorf("both colors are running (%s) and %s names neither (%s), so the live color cannot be told; point the include at the color that should serve (for example %q) and run again",
			state, r.cfg.Nginx.IncludePath, how, "set $service_url "+r.plans[color.Blue].URL+";")
	case fromInclude == color.None:
		for _, c := range color.All {
			if running(c) {
				r.d.Report.Warnf("%s names no color (%s), but %s is running: treating %s as live so that it keeps running until the switch", r.cfg.Nginx.IncludePath, how, c, c)
				live.Color = c
				live.How += fmt.Sprintf("; %s is the only running color", c)
			}
		}
	case running(fromInclude.Other()):
		r.d.Report.Infof("%s is also running but nginx does not serve it: it is a leftover and will be replaced", fromInclude.Other())
	}
	r.live = live
	if live.Color == color.None {
		r.d.Report.Infof("first deploy: nothing is live (%s; %s); deploying blue", live.How, state)
	} else {
		r.d.Report.Infof("live color: %s (%s; %s)", live.Color, strings.TrimSpace(live.How), state)
	}
	return nil
}

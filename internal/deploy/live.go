package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
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
	readOnly := r.cfg.Mode == config.ModeStatus
	if !readOnly {
		if removed, err := r.d.Nginx.RemoveStaleTemps(); err != nil {
			r.d.Report.Warnf("%v", err)
		} else if len(removed) > 0 {
			r.d.Report.Infof("removed temp file(s) a killed deploy left next to the include: %s", strings.Join(removed, ", "))
		}
	}
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

	staged, firstStaged := r.stagedWithoutInclude(live)
	switch {
	case firstStaged:
		r.d.Report.Infof("%s runs but nginx has no include yet: it is the staged first deploy", staged)
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
	if exists && live.Color != color.None {
		if err := r.reconcileLoaded(ctx, live.Color); err != nil {
			return err
		}
		live = r.live
	}
	// A run killed mid-deploy may have left the kept copy set aside.
	if err := r.reconcileAside(ctx); err != nil {
		return err
	}
	if live.Color == color.None {
		r.d.Report.Infof("first deploy: nothing is live (%s; %s); deploying blue", live.How, state)
	} else {
		r.d.Report.Infof("live color: %s (%s; %s)", live.Color, strings.TrimSpace(live.How), state)
	}
	return nil
}

// reconcileLoaded makes sure nginx has loaded the include on disk. A deploy
// killed between writing the include and reloading nginx leaves a file
// that names one color while nginx still serves the other; trusting the
// file would stop the color that really serves. When the file's color is
// running and healthy, nginx is reloaded to match the file; otherwise the
// include is put back to the other color if that one is healthy.
// In status mode it only reports.
func (r *run) reconcileLoaded(ctx context.Context, named color.Color) error {
	pending, ok, why := r.d.Nginx.Pending()
	if !ok || !pending {
		return nil
	}
	r.d.Report.Warnf("nginx has not loaded its include: %s", why)
	if r.cfg.Mode == config.ModeStatus {
		// Status changes nothing: the next deploy repairs it.
		r.live.How += "; nginx has not loaded this include yet (the next deploy reloads it)"
		return nil
	}
	fix := func(c color.Color, data []byte) error {
		if err := r.withNginx(ctx, func() error { _, err := r.d.Nginx.Switch(ctx, data); return err }); err != nil {
			return fmt.Errorf("failed to make nginx load the include for %s: %w", c, err)
		}
		r.live.Color = c
		r.live.Include = data
		r.live.IncludeExists = true
		r.live.How += fmt.Sprintf("; nginx reloaded so that it serves %s as the include says", c)
		r.d.Report.Infof("repaired: nginx now serves %s", c)
		return nil
	}
	if err := r.probeOnce(ctx, r.plans[named]); err == nil {
		return fix(named, r.live.Include)
	} else {
		r.d.Report.Warnf("%s, which the include names, is not healthy: %v", named, err)
	}
	other := named.Other()
	if err := r.probeOnce(ctx, r.plans[other]); err != nil {
		return fmt.Errorf("the include names %s but nginx has not loaded it, and neither color answers its health check (%s: %v); fix the services, then run again", named, other, err)
	}
	data, err := r.tmpl.Render(r.templateData(r.plans[other], compose.Container{}))
	if err != nil {
		return fmt.Errorf("failed to render the include for %s: %w", other, err)
	}
	return fix(other, data)
}

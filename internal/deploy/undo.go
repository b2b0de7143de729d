package deploy

// Undoing a failed deploy: the new color taken away before nginx served
// it, or nginx switched back after it did (see phases.go for which
// failure undoes what).

import (
	"context"
	"fmt"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// switchBack undoes a switch whose new color failed inside the observation
// window: nginx gets the previous include back, the new color is drained
// and removed. The old color was never stopped, so it serves at once.
func (r *run) switchBack(ctx context.Context, pe *PhaseError, traffic compose.Container, from origin) error {
	if r.live.Color == color.None {
		r.d.Report.Warnf("%s failed inside the observation window, but there is no previous color to switch back to; it keeps serving", r.target)
		pe.Undone = fmt.Sprintf("Nothing was undone: there is no previous color, so %s keeps serving.", r.target)
		r.res.Undone = pe.Undone
		return pe
	}
	r.showLogs(ctx, traffic)
	var undone []string
	back := fmt.Sprintf("Switch nginx back to %s", r.live.Color)
	var reload *nginx.Reload
	err := r.phase(PhaseSwitchBack, back, func() error {
		cctx, cancel := r.cleanupContext(ctx, 0)
		defer cancel()
		return r.withNginx(cctx, func() (err error) {
			reload, err = r.d.Nginx.Switch(cctx, r.live.Include)
			return err
		})
	})
	if err != nil {
		// A failed switch's error ends with what nginx serves, checked;
		// without one nothing was written, and the include still names
		// the new color.
		where := fmt.Sprintf("; nginx still points at %s.", r.target)
		if _, ok := checkedServing(err); ok {
			where = "."
		}
		undone = append(undone, fmt.Sprintf("Switching nginx back to %s FAILED: %v%s", r.live.Color, err, where))
		r.res.Undone = strings.Join(undone, " ")
		pe.Undone = r.res.Undone
		return pe
	}
	r.res.RolledBack = true
	r.res.Active = r.live.Color
	r.fillActive(r.live.Color)
	undone = append(undone, fmt.Sprintf("Switched nginx back to %s (%s).", r.live.Color, r.plans[r.live.Color].URL))
	_ = r.phase(PhaseDrain, fmt.Sprintf("Drain %s", r.target), func() error {
		cctx, cancel := r.cleanupContext(ctx, r.cfg.DrainTimeout)
		defer cancel()
		return r.drain(cctx, reload, r.target)
	})
	undone = append(undone, r.dispose(ctx, from))
	if s := r.restoreSingletons(ctx); s != "" {
		undone = append(undone, s)
	}
	r.res.Undone = strings.Join(undone, " ")
	pe.Undone = r.res.Undone
	return pe
}

// showLogs prints the last log lines of a failed new color's traffic
// container, as untrusted text.
func (r *run) showLogs(ctx context.Context, traffic compose.Container) {
	if traffic.ID == "" {
		return
	}
	ctx, cancel := r.cleanupContext(ctx, 0)
	defer cancel()
	if logs, err := r.d.Engine.Logs(ctx, traffic.ID, logTail*2); err == nil && strings.TrimSpace(logs) != "" {
		r.d.Report.Block(fmt.Sprintf("Last log lines of %s (%s)", traffic.Name, r.target), logs)
	}
}

// abandon undoes a deploy that failed before or during the switch: the
// new color is shown (logs) and taken away as fail says; nginx was never
// changed, or the switch itself restored it.
func (r *run) abandon(ctx context.Context, pe *PhaseError, traffic compose.Container, from origin) error {
	r.showLogs(ctx, traffic)
	undone := []string{r.dispose(ctx, from)}
	if serving, ok := checkedServing(pe.Err); ok {
		// A failed switch checked what nginx serves: say that, never what
		// the deploy assumes.
		undone = append(undone, "Checked after the failed switch: "+serving.String()+".")
	} else if r.live.Color != color.None {
		undone = append(undone, fmt.Sprintf("nginx still serves %s (%s); nothing else was changed.", r.live.Color, r.plans[r.live.Color].URL))
	} else {
		undone = append(undone, "nginx's include was left as it was.")
	}
	r.res.Undone = strings.Join(undone, " ")
	r.res.Active = r.live.Color
	r.res.RolledBack = false
	if r.live.Color != color.None {
		r.fillActive(r.live.Color)
	}
	pe.Undone = r.res.Undone
	return pe
}

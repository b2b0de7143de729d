package deploy

// Modes maintenance and live (issue 20): nginx answers every request 503
// with Retry-After and a page, through the same checked, reversible
// switch of the include; the marker and the health path go on reaching
// the app, and no container is touched. Live puts back, byte for byte,
// the include that served before, which travels inside the maintenance
// include.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// ErrMaintenance means nginx serves the maintenance page, so a run that
// would replace the include refuses.
var ErrMaintenance = errors.New("nginx serves the maintenance page")

// plainPath is a health path the maintenance include can pass on to the
// app (nginx's rule for it).
var plainPath = regexp.MustCompile(`^/[A-Za-z0-9._~/-]{0,200}$`)

// trafficMode runs mode maintenance or live.
func (r *run) trafficMode(ctx context.Context) error {
	r.res.Active = r.live.Color
	r.fillActive(r.live.Color)
	m, found, err := nginx.ReadMarker(r.live.Include)
	if err != nil {
		return &PhaseError{Kind: PhaseFind, Phase: "Find the live color", Err: err, Undone: "Nothing was changed."}
	}
	if r.cfg.Mode == config.ModeLive {
		return r.goLive(ctx, m, found)
	}
	return r.maintain(ctx, m, found)
}

// maintain switches the include to the maintenance include.
func (r *run) maintain(ctx context.Context, m nginx.Marker, found bool) error {
	name := "Switch nginx to maintenance"
	var next []byte
	var want nginx.Marker
	err := r.phase(PhaseSwitch, name, func() error {
		if r.live.Color == color.None || !r.live.IncludeExists {
			return fmt.Errorf("nothing serves yet (%s): deploy first, then put it in maintenance", r.live.How)
		}
		prev := r.live.Include
		if found && m.Maintenance {
			// Already in maintenance: render it again (the page may have
			// changed) around the include that served before it.
			var err error
			if prev, err = nginx.PreviousInclude(r.live.Include); err != nil {
				return err
			}
			m, found, _ = nginx.ReadMarker(prev)
		}
		mt := nginx.Maintenance{Previous: prev, Color: r.live.Color, MarkerAllow: r.d.MarkerAllow, Name: r.cfg.ProjectName}
		if found {
			mt.DeployID = m.DeployID
		}
		if path, _, _ := strings.Cut(r.cfg.Health.Path, "?"); path != "/" && plainPath.MatchString(path) {
			mt.HealthPath = path
		} else if path != "/" {
			r.d.Report.Warnf("health-path %q has characters nginx's maintenance include cannot pass on; during maintenance it is answered 503 like any other path", path)
		}
		if err := r.writePage(&mt); err != nil {
			return err
		}
		var err error
		if next, err = nginx.RenderMaintenance(mt); err != nil {
			return err
		}
		want = nginx.Marker{Color: mt.Color, DeployID: mt.DeployID, Maintenance: true}
		return r.checkedSwitch(ctx, next, want)
	})
	if err != nil {
		return &PhaseError{Kind: PhaseSwitch, Phase: name, Err: err, Undone: fmt.Sprintf("No container was touched; nginx serves what it served before (%s).", r.live.How)}
	}
	r.res.Serving = want.String()
	r.d.Report.Infof("nginx answers every request with 503 and Retry-After (the health path and the marker still reach %s); no container was touched. Put back what served with mode: live", r.live.Color)
	return nil
}

// writePage puts maintenance-page where nginx serves it from.
func (r *run) writePage(mt *nginx.Maintenance) error {
	if r.cfg.Maintenance.Page == "" {
		return nil
	}
	page, err := os.ReadFile(r.cfg.Maintenance.Page)
	if err != nil {
		return fmt.Errorf("failed to read maintenance-page: %w", err)
	}
	if r.d.WritePage == nil {
		return errors.New("maintenance-page cannot be written where this nginx reads it")
	}
	if mt.PagePath, err = r.d.WritePage(page); err != nil {
		return err
	}
	return nil
}

// goLive puts back the include that served before maintenance.
func (r *run) goLive(ctx context.Context, m nginx.Marker, found bool) error {
	name := "Switch nginx back to live"
	if !found || !m.Maintenance {
		r.d.Report.Infof("nginx is not in maintenance (%s); nothing to do", r.live.How)
		return nil
	}
	var want nginx.Marker
	err := r.phase(PhaseSwitch, name, func() error {
		prev, err := nginx.PreviousInclude(r.live.Include)
		if err != nil {
			return err
		}
		pm, pfound, _ := nginx.ReadMarker(prev)
		want = pm
		if !pfound {
			want = nginx.Marker{}
		}
		return r.checkedSwitch(ctx, prev, want)
	})
	if err != nil {
		return &PhaseError{Kind: PhaseSwitch, Phase: name, Err: err, Undone: "No container was touched; nginx still serves the maintenance page."}
	}
	r.d.Report.Infof("nginx serves %s again, exactly as before maintenance", r.live.Color)
	return nil
}

// checkedSwitch writes next through the checked switch and, when want
// has a color and the include answers the marker, confirms it at the
// front door; a front door that never shows it puts the include back.
func (r *run) checkedSwitch(ctx context.Context, next []byte, want nginx.Marker) error {
	r.d.Report.Infof("writing %s:\n%s", r.cfg.Nginx.IncludePath, indent(string(next)))
	return r.withNginx(ctx, func() error { return r.switchAndConfirm(ctx, next, want) })
}

// switchAndConfirm is checkedSwitch under the host's nginx lock.
func (r *run) switchAndConfirm(ctx context.Context, next []byte, want nginx.Marker) error {
	if _, err := r.d.Nginx.Switch(ctx, next); err != nil {
		return err
	}
	// verify-url is always asked; otherwise only an include with the
	// marker location answers the marker (the maintenance page's own URI
	// starts like it).
	located := bytes.Contains(next, []byte("location = "+nginx.MarkerPath+" "))
	if want.Color == color.None || (r.cfg.Nginx.VerifyURL == "" && !located) {
		return nil
	}
	if err := r.confirmAnswer(ctx, next, want, true); err != nil {
		if uerr := r.unswitch(ctx); uerr != nil {
			return fmt.Errorf("%w; putting the previous include back ALSO failed: %w", err, uerr)
		}
		return fmt.Errorf("%w; the previous include was put back", err)
	}
	return nil
}

// settleTraffic is what a run does, after finding the live color, about
// an include that is not a full switch: a deploy during maintenance
// refuses; a canary step an interrupted deploy left is put back on the
// color that held the traffic.
func (r *run) settleTraffic(ctx context.Context) error {
	if err := r.refuseInMaintenance(); err != nil {
		return err
	}
	if err := r.settleLeftoverCanary(ctx); err != nil {
		return &PhaseError{Kind: PhaseFind, Phase: "Find the live color", Err: err, Undone: "No container was touched."}
	}
	return nil
}

// refuseInMaintenance stops a run that would replace a maintenance
// include: a deploy would end the maintenance behind the operator's back.
func (r *run) refuseInMaintenance() error {
	switch r.cfg.Mode {
	case config.ModeDeploy, config.ModeRollback, config.ModePromote:
	default:
		return nil
	}
	m, found, err := nginx.ReadMarker(r.live.Include)
	if err != nil || !found || !m.Maintenance {
		return nil
	}
	return &PhaseError{Kind: PhaseFind, Phase: "Find the live color",
		Err:    fmt.Errorf("%w (%s): mode %s would end it; run mode: live first, then %s", ErrMaintenance, m, r.cfg.Mode, r.cfg.Mode),
		Undone: "Nothing was changed."}
}

// noteServing says what nginx serves when it is not a full switch, for
// status.
func (r *run) noteServing() {
	if m, found, err := nginx.ReadMarker(r.live.Include); err == nil && found && m.Mode() != "full" {
		r.res.Serving = m.String()
		r.d.Report.Infof("nginx serves %s", m)
	}
}

// trafficSummary is the summary's part for what nginx serves and the
// canary's steps.
func (r *Result) trafficSummary() string {
	var b strings.Builder
	if r.Serving != "" {
		fmt.Fprintf(&b, "**nginx serves:** %s\n\n", report.TableCell(r.Serving))
	}
	if len(r.Canary) == 0 {
		return b.String()
	}
	oc, nc := r.Previous.String(), r.Target.String()
	b.WriteString("**Canary steps** (evidence from nginx's own log)\n\n")
	fmt.Fprintf(&b, "| Share of %s | %s requests | %s 5xx | %s p95 | %s requests | %s 5xx | %s p95 | Result |\n", nc, oc, oc, oc, nc, nc, nc)
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, s := range r.Canary {
		v := s.Verdict
		fmt.Fprintf(&b, "| %d %% | %d | %d | %d ms | %d | %d | %d ms | %s |\n", s.Percent,
			v.Old.Requests, v.Old.Errors, v.Old.P95.Milliseconds(), v.New.Requests, v.New.Errors, v.New.P95.Milliseconds(), report.TableCell(s.Result))
	}
	b.WriteString("\n")
	return b.String()
}

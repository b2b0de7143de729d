package deploy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// Result is what a deploy did, for outputs and the job summary.
type Result struct {
	DeployID       string
	Mode           config.Mode
	Started        time.Time
	Elapsed        time.Duration
	Previous       color.Color // live before the deploy (None on a first deploy)
	Target         color.Color // the color the deploy started
	Active         color.Color // live after the deploy
	ActivePort     int
	ActiveURL      string
	Image          string
	HealthAttempts int
	Drain          nginx.DrainResult
	Phases         []Phase
	// RolledBack is true when this run put the previous color back in
	// service: mode rollback, or a switch undone inside observe-seconds.
	RolledBack bool
	Undone     string // what a failed run undid, in words
	Err        error
}

// Phase is one timed step.
type Phase struct {
	Kind     PhaseKind
	Name     string
	Start    time.Time
	Duration time.Duration
	Err      error
}

// Outputs returns the step outputs in a fixed order.
func (r *Result) Outputs() [][2]string {
	port := ""
	if r.ActivePort != 0 {
		port = strconv.Itoa(r.ActivePort)
	}
	return [][2]string{
		{"active-color", r.Active.String()},
		{"previous-color", r.Previous.String()},
		{"active-port", port},
		{"active-url", r.ActiveURL},
		{"image", r.Image},
		{"rolled-back", strconv.FormatBool(r.RolledBack)},
		{"deploy-id", r.DeployID},
	}
}

// Summary renders the job summary in Markdown.
func (r *Result) Summary(project string) string {
	var b strings.Builder
	status := "✅ deployed"
	switch {
	case r.Err != nil:
		status = "❌ failed"
	case r.Mode == config.ModeStatus:
		status = "ℹ️ status"
	case r.Mode == config.ModeRollback:
		status = "↩️ rolled back"
	}
	fmt.Fprintf(&b, "### bluegreen %s: %s\n\n", project, status)
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Colors | %s → %s |\n", orNone(r.Previous), orNone(r.Active))
	if r.Image != "" {
		fmt.Fprintf(&b, "| Image | %s |\n", report.TableCell(report.CodeSpan(r.Image)))
	}
	if r.ActiveURL != "" {
		fmt.Fprintf(&b, "| Serving | %s |\n", report.TableCell(r.ActiveURL))
	}
	if r.HealthAttempts > 0 {
		fmt.Fprintf(&b, "| Health probes | %d |\n", r.HealthAttempts)
	}
	fmt.Fprintf(&b, "| Deploy id | `%s` |\n", r.DeployID)
	fmt.Fprintf(&b, "| Total time | %s |\n\n", r.Elapsed.Round(time.Millisecond))
	b.WriteString("| Phase | Time | Result |\n|---|---:|---|\n")
	for _, p := range r.Phases {
		res := "ok"
		if p.Err != nil {
			res = "**failed**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", report.TableCell(p.Name), p.Duration.Round(time.Millisecond), res)
	}
	if r.Err != nil {
		cause := r.Err
		var pe *PhaseError
		if errors.As(r.Err, &pe) {
			cause = pe.Err
			fmt.Fprintf(&b, "\n**Failed phase:** %s\n", pe.Phase)
		}
		fmt.Fprintf(&b, "\n**Cause**\n\n%s", report.Fence(cause.Error()))
		if pe != nil && pe.Hint != "" {
			fmt.Fprintf(&b, "\n**What to do:** %s\n", pe.Hint)
		}
		if r.Undone != "" {
			fmt.Fprintf(&b, "\n**Undone:** %s\n", r.Undone)
		}
	}
	return b.String()
}

func orNone(c color.Color) string {
	if c == color.None {
		return "(none)"
	}
	return "**" + c.String() + "**"
}

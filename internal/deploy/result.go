package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// Result is what a deploy did, for outputs and the job summary.
type Result struct {
	DeployID   string
	Mode       config.Mode
	Started    time.Time
	Elapsed    time.Duration
	Previous   color.Color // live before the deploy (None on a first deploy)
	Target     color.Color // the color the deploy started
	Active     color.Color // live after the deploy
	ActivePort int
	ActiveURL  string
	// Image is the reference the active color's traffic container runs,
	// as the user wrote it (never a bare image id), and ImageDigest its
	// repo digest (repo@sha256:…), else its image id.
	Image          string
	ImageDigest    string
	HealthAttempts int
	Drain          nginx.DrainResult
	Phases         []Phase
	// RolledBack is true when this run put the previous color back in
	// service: mode rollback, or a switch undone inside observe-seconds.
	RolledBack bool
	// RollbackTo is the deploy id a rollback went back to.
	RollbackTo string
	Undone     string // what a failed run undid, in words
	Err        error

	// Staged is the color mode stage started and proved healthy, and
	// PreviewURL where it answers on the host.
	Staged     color.Color
	PreviewURL string
	// StagedImage is what the staged color's traffic container runs.
	StagedImage string
	// ServingDeployID is the id of the deploy whose color serves after
	// the run (this run's after a switch that stands; the live deploy's
	// after a failure, in status and abort), "" when unknown.
	ServingDeployID string
	// servingSet is true once the run settled what serves; a Result made
	// by hand then gives DeployID as its deploy-id output.
	servingSet bool
	// History is the project's history (mode history), oldest first.
	History []ledger.Entry
	// Roles is what the run did with shared services, jobs and
	// singletons (roles_run.go).
	Roles RoleRun
	// Images are what the started color's services run, by service.
	Images map[string]ledger.Image
	// RetainedImages and RemovedImages are what retain-images kept and
	// removed after a successful run.
	RetainedImages []string
	RemovedImages  []string
	// Canary is each canary step this run made, in order.
	Canary []CanaryStep
	// Serving is what nginx serves, in words, when it is not a plain
	// full switch (maintenance, a canary a killed deploy left).
	Serving string
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
		{"image-digest", r.ImageDigest},
		{"rolled-back", strconv.FormatBool(r.RolledBack)},
		{"deploy-id", r.OutputDeployID()},
		{"staged-color", r.Staged.String()},
		{"preview-url", r.PreviewURL},
		{"roles", r.Roles.json()},
		{"history", r.historyJSON()},
	}
}

// OutputDeployID is the deploy-id output: in mode stage the staged
// deploy's id (promote's deploy-id input), otherwise the id of the deploy
// whose color serves, which after a failed run is not this run's.
func (r *Result) OutputDeployID() string {
	if !r.servingSet || r.Mode == config.ModeStage || r.Mode == config.ModeHistory {
		return r.DeployID
	}
	return r.ServingDeployID
}

// SetServing records what serves, as a finished run does (for tests and
// for results read back from a host).
func (r *Result) SetServing(deployID string) {
	r.ServingDeployID, r.servingSet = deployID, true
}

// historyJSON is the history output: a JSON array on one line, "" when the
// run did not read the history.
func (r *Result) historyJSON() string {
	if r.History == nil {
		return ""
	}
	b, err := json.Marshal(r.History)
	if err != nil {
		return ""
	}
	return string(b)
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
	case r.Mode == config.ModeStage:
		status = "🧪 staged"
	case r.Mode == config.ModePromote:
		status = "✅ promoted"
	case r.Mode == config.ModeAbort:
		status = "🗑️ aborted"
	case r.Mode == config.ModeMaintenance:
		status = "🚧 maintenance"
	case r.Mode == config.ModeLive:
		status = "✅ live"
	case r.Mode == config.ModeHistory:
		return r.historySummary(project)
	}
	fmt.Fprintf(&b, "### bluegreen %s: %s\n\n", project, status)
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Colors | %s |\n", r.colorsCell())
	if r.Image != "" {
		fmt.Fprintf(&b, "| Image | %s |\n", report.TableCell(report.CodeSpan(r.Image)))
	}
	if r.ImageDigest != "" && r.ImageDigest != r.Image {
		fmt.Fprintf(&b, "| Image digest | %s |\n", report.TableCell(report.CodeSpan(r.ImageDigest)))
	}
	if r.StagedImage != "" {
		fmt.Fprintf(&b, "| Staged image | %s |\n", report.TableCell(report.CodeSpan(r.StagedImage)))
	}
	if r.ActiveURL != "" {
		fmt.Fprintf(&b, "| Serving | %s |\n", report.TableCell(r.ActiveURL))
	}
	if r.Staged != color.None {
		fmt.Fprintf(&b, "| Staged | %s on %s |\n", orNone(r.Staged), report.TableCell(r.PreviewURL))
	}
	r.Roles.summaryRows(&b)
	if r.HealthAttempts > 0 {
		fmt.Fprintf(&b, "| Health probes | %d |\n", r.HealthAttempts)
	}
	if r.RollbackTo != "" {
		fmt.Fprintf(&b, "| Back to deploy | `%s` |\n", r.RollbackTo)
	}
	if len(r.RetainedImages) > 0 {
		fmt.Fprintf(&b, "| Images kept (retain-images) | %s |\n", codeList(r.RetainedImages))
	}
	if len(r.RemovedImages) > 0 {
		fmt.Fprintf(&b, "| Images removed | %s |\n", codeList(r.RemovedImages))
	}
	b.WriteString(r.deployIDRows())
	if r.Drain.OldConnections > 0 {
		fmt.Fprintf(&b, "| Cut at the drain's end | %d connection(s) to the old color (long-lived: WebSockets, streams) |\n", r.Drain.OldConnections)
	}
	fmt.Fprintf(&b, "| Total time | %s |\n\n", r.Elapsed.Round(time.Millisecond))
	b.WriteString(r.trafficSummary())
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

// codeList is a table cell of inline-code items.
func codeList(items []string) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = report.TableCell(report.CodeSpan(it))
	}
	return strings.Join(parts, ", ")
}

// historySummary is the job summary of mode history: one row a run,
// newest first.
func (r *Result) historySummary(project string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### bluegreen %s: history\n\n", project)
	if r.Err != nil {
		fmt.Fprintf(&b, "%s", report.Fence(r.Err.Error()))
		return b.String()
	}
	if len(r.History) == 0 {
		b.WriteString("No deploys are recorded on this host.\n")
		return b.String()
	}
	b.WriteString("| Deploy id | Time | Mode | Result | Color | Images | Commit |\n|---|---|---|---|---|---|---|\n")
	for i := len(r.History) - 1; i >= 0; i-- {
		e := r.History[i]
		commit := e.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			report.TableCell(report.CodeSpan(e.DeployID)), e.Time.Format(time.RFC3339), report.TableCell(e.Mode), report.TableCell(string(e.Result)),
			report.TableCell(e.Active), report.TableCell(report.CodeSpan(imageList(e.Images))), report.TableCell(commit))
	}
	return b.String()
}

// colorsCell says which color served before and which serves now; a run
// that changed nothing says the color that stays live, never "blue →
// blue", and a failed run names the color that serves.
func (r *Result) colorsCell() string {
	switch {
	case r.Mode == config.ModeStatus && r.Active != color.None:
		return orNone(r.Active) + " is live"
	case r.Mode == config.ModeStatus:
		return "nothing is live"
	case r.Active == color.None && r.Previous == color.None && !r.found():
		return "not known: the run stopped before it read what nginx serves"
	case r.Active == color.None && r.Previous == color.None:
		return "nothing serves"
	case r.Active == color.None:
		return fmt.Sprintf("%s → (none)", orNone(r.Previous))
	case r.Active == r.Previous && r.Err != nil:
		if v, ok := checkedServing(r.Err); ok && v.Observed && !v.Running {
			return fmt.Sprintf("%s stays the live color, but nginx was found not running", orNone(r.Active))
		}
		return fmt.Sprintf("%s stays live (nginx still serves it)", orNone(r.Active))
	case r.Active == r.Previous:
		return fmt.Sprintf("%s stays live", orNone(r.Active))
	case r.Err != nil:
		return fmt.Sprintf("%s → %s, which serves", orNone(r.Previous), orNone(r.Active))
	}
	return fmt.Sprintf("%s → %s", orNone(r.Previous), orNone(r.Active))
}

// found reports whether the run read what nginx serves.
func (r *Result) found() bool {
	for _, p := range r.Phases {
		if p.Kind == PhaseFind && p.Err == nil {
			return true
		}
	}
	return false
}

// deployIDRows are the summary's rows of deploy ids: the serving deploy's
// and, when it is another one, this run's.
func (r *Result) deployIDRows() string {
	out := r.OutputDeployID()
	switch {
	case r.Mode == config.ModeStatus || r.Mode == config.ModeAbort:
		if out == "" {
			return "| Serving deploy | unknown (no marker, history or label names it) |\n"
		}
		return fmt.Sprintf("| Serving deploy | %s |\n", report.CodeSpan(out))
	case out == r.DeployID:
		return fmt.Sprintf("| Deploy id | %s |\n", report.CodeSpan(r.DeployID))
	case out == "":
		return fmt.Sprintf("| Deploy id | %s (this run) |\n", report.CodeSpan(r.DeployID))
	}
	return fmt.Sprintf("| Serving deploy | %s |\n| This run | %s |\n", report.CodeSpan(out), report.CodeSpan(r.DeployID))
}

package fleet

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/report"
)

// HostsResultOutput is the output that lists every host's result.
const HostsResultOutput = "hosts-result"

// OutputNames lists every output a run sets: the deploy's own, and on a
// fleet hosts-result.
func OutputNames() []string {
	var names []string
	for _, kv := range (&deploy.Result{}).Outputs() {
		names = append(names, kv[0])
	}
	return append(names, HostsResultOutput)
}

// HostReport is one host in hosts-result.
type HostReport struct {
	Host     string           `json:"host"`
	Previous string           `json:"previous"`
	Active   string           `json:"active"`
	Image    string           `json:"image"`
	DeployID string           `json:"deploy_id"`
	Phases   map[string]int64 `json:"phases"` // phase kind → milliseconds
	Result   Status           `json:"result"`
	Error    string           `json:"error,omitempty"`
}

// final is the last thing known of h: the fleet's rollback, its deploy,
// or its state before the rollout.
func (h *HostOutcome) final() *HostResult {
	switch {
	case h.Undo != nil:
		return h.Undo
	case h.Result != nil:
		return h.Result
	default:
		return h.Before
	}
}

// Reports lists every host for hosts-result, in the hosts input's order.
func (o *Outcome) Reports() []HostReport {
	out := make([]HostReport, 0, len(o.Hosts))
	for _, h := range o.Hosts {
		r := HostReport{Host: h.Host.Name, Result: h.Status, Phases: map[string]int64{}}
		if h.Before != nil {
			r.Previous, r.Active, r.Image = h.Before.Active, h.Before.Active, h.Before.Image
		}
		if h.Result != nil {
			r.DeployID = h.Result.DeployID
			for _, p := range h.Result.Phases {
				r.Phases[string(p.Kind)] += p.MS
			}
		}
		if f := h.final(); f != nil && f != h.Before {
			r.Active = f.Active
			if f.Image != "" {
				r.Image = f.Image
			}
		}
		if f := h.failure(); f != nil {
			r.Error = f.Cause
			if f.Phase != "" {
				r.Error = f.Phase + ": " + f.Cause
			}
			// A host's words: plain text only (see safeText).
			r.Error = safeText(r.Error)
		}
		out = append(out, r)
	}
	return out
}

// Outputs returns the step outputs of a rollout: each of the deploy's
// outputs when every host that has a result agrees on it (empty when they
// differ), and hosts-result. Every value comes from a checked result
// (HostResult.Check); an output with no check is left empty: history,
// which is each host's own record (read it with mode history on one
// host), and any output the deploy sets that the fleet does not know.
func (o *Outcome) Outputs() [][2]string {
	var out [][2]string
	for _, name := range OutputNames() {
		if name == HostsResultOutput {
			continue
		}
		if _, checked := outputChecks[name]; !checked {
			out = append(out, [2]string{name, ""})
			continue
		}
		value, agreed := "", true
		first := true
		for _, h := range o.Hosts {
			f := h.final()
			if f == nil || f.Outputs == nil {
				agreed = false
				break
			}
			v := f.Outputs[name]
			if f == h.Before && h.Status == StatusSkipped && name == "previous-color" {
				// A skipped host's "previous" is its live color.
				v = f.Active
			}
			if first {
				value, first = v, false
			} else if v != value {
				agreed = false
				break
			}
		}
		if !agreed {
			value = ""
		}
		out = append(out, [2]string{name, value})
	}
	data, _ := json.Marshal(o.Reports())
	return append(out, [2]string{HostsResultOutput, string(data)})
}

// Summary renders the job summary: one row a host.
func (o *Outcome) Summary(project string) string {
	var b strings.Builder
	status := "✅ deployed"
	switch {
	case o.Err != nil:
		status = "❌ failed"
	case o.Mode == "status":
		status = "ℹ️ status"
	case o.Mode == "rollback":
		status = "↩️ rolled back"
	}
	fmt.Fprintf(&b, "### bluegreen %s on %d hosts: %s\n\n", project, len(o.Hosts), status)
	b.WriteString("| Host | Before | After | Image | Deploy id | Time | Result |\n|---|---|---|---|---|---:|---|\n")
	for _, r := range o.Reports() {
		var ms int64
		for _, v := range r.Phases {
			ms += v
		}
		took := ""
		if ms > 0 {
			took = (time.Duration(ms) * time.Millisecond).Round(time.Millisecond).String()
		}
		image, id := "", ""
		if r.Image != "" {
			image = report.CodeSpan(r.Image)
		}
		if r.DeployID != "" {
			id = report.CodeSpan(r.DeployID)
		}
		result := string(r.Result)
		if r.Error != "" {
			result += ": " + report.CodeSpan(r.Error)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			report.TableCell(report.CodeSpan(r.Host)), cellColor(r.Previous), cellColor(r.Active),
			report.TableCell(image), report.TableCell(id), took, report.TableCell(result))
	}
	fmt.Fprintf(&b, "\nTotal time: %s\n", o.Elapsed.Round(time.Millisecond))
	if e, ok := o.Err.(*Error); ok {
		fmt.Fprintf(&b, "\n**Cause**\n\n%s", report.Fence(e.Error()))
		if len(e.Details) > 0 {
			fmt.Fprintf(&b, "\n**What happened to the fleet**\n\n%s", report.Fence(strings.Join(e.Details, "\n")))
		}
	}
	return b.String()
}

func cellColor(c string) string {
	if c == "" {
		return "(none)"
	}
	return "**" + c + "**"
}

package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
)

// HostResult is one deploy on one host as data: what the helper on the
// host sends back to the runner once its deploy is done. Colors are
// spelled as in the outputs ("blue", "green", "" for none).
type HostResult struct {
	Mode       config.Mode `json:"mode"`
	DeployID   string      `json:"deploy_id,omitempty"`
	Previous   string      `json:"previous"`
	Target     string      `json:"target,omitempty"`
	Active     string      `json:"active"`
	Image      string      `json:"image,omitempty"`
	RolledBack bool        `json:"rolled_back,omitempty"`
	ElapsedMS  int64       `json:"elapsed_ms"`
	Phases     []PhaseTime `json:"phases,omitempty"`
	// Outputs are the step outputs the deploy would set on its own.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Running are the images of the active color's running containers
	// (as created, and their image ids), for the skip check.
	Running []string `json:"running,omitempty"`
	// Failure is set when the deploy failed.
	Failure *Failure `json:"failure,omitempty"`
	// ExitCode is the helper's (filled in by the runner).
	ExitCode int `json:"-"`
}

// PhaseTime is one phase of a host's deploy.
type PhaseTime struct {
	Kind   deploy.PhaseKind `json:"kind"`
	Name   string           `json:"name"`
	MS     int64            `json:"ms"`
	Failed bool             `json:"failed,omitempty"`
}

// Failure is why a host's deploy failed: its phase, the cause, what to do
// and what was undone on that host. All of it may hold untrusted text
// (a container's name, an error a registry sent): print it only through
// the Reporter.
type Failure struct {
	Kind    deploy.PhaseKind `json:"kind,omitempty"`
	Phase   string           `json:"phase,omitempty"`
	Cause   string           `json:"cause"`
	Hint    string           `json:"hint,omitempty"`
	Undone  string           `json:"undone,omitempty"`
	Invalid bool             `json:"invalid,omitempty"` // an input problem (exit 2)
}

// Failed reports whether the deploy failed.
func (r *HostResult) Failed() bool { return r != nil && r.Failure != nil }

// FromDeploy turns a deploy's Result and error into a HostResult.
// running lists the active color's running containers.
func FromDeploy(res *deploy.Result, err error, running []compose.Container) HostResult {
	out := HostResult{Outputs: map[string]string{}}
	if res != nil {
		out.Mode = res.Mode
		// What serves on the host, as the deploy checked it there: the
		// serving deploy's id and the image its traffic container runs,
		// never the image the rollout asked for.
		out.DeployID = res.OutputDeployID()
		out.Previous = res.Previous.String()
		out.Target = res.Target.String()
		out.Active = res.Active.String()
		out.Image = res.Image
		out.RolledBack = res.RolledBack
		out.ElapsedMS = res.Elapsed.Milliseconds()
		for _, p := range res.Phases {
			out.Phases = append(out.Phases, PhaseTime{Kind: p.Kind, Name: p.Name, MS: p.Duration.Milliseconds(), Failed: p.Err != nil})
		}
		for _, kv := range res.Outputs() {
			out.Outputs[kv[0]] = kv[1]
		}
	}
	for _, c := range running {
		out.Running = append(out.Running, c.Image)
	}
	if err != nil {
		f := &Failure{Cause: err.Error(), Invalid: errors.Is(err, config.ErrInvalid)}
		var pe *deploy.PhaseError
		if errors.As(err, &pe) {
			f.Kind, f.Phase, f.Cause, f.Hint, f.Undone = pe.Kind, pe.Phase, pe.Err.Error(), pe.Hint, pe.Undone
		}
		out.Failure = f
	}
	return out
}

// Elapsed is the deploy's duration.
func (r *HostResult) Elapsed() time.Duration { return time.Duration(r.ElapsedMS) * time.Millisecond }

// maxResultLine bounds a result line the runner accepts.
const maxResultLine = 1 << 20

// ResultLine is the line a helper prints its result on (no newline): a
// hosthelper.TokenLine, which nothing else the helper prints can pass for and
// the runner never relays. JSON escapes every control character, so it is
// one line whatever the result holds.
func ResultLine(token string, r HostResult) string {
	data, _ := json.Marshal(r)
	return hosthelper.TokenLine(token, string(data))
}

// ParseResultLine reads a line ResultLine made with token; ok is false
// for any other line.
func ParseResultLine(token, line string) (r HostResult, ok bool) {
	if len(line) > maxResultLine {
		return HostResult{}, false
	}
	payload, found := hosthelper.CutTokenLine(token, line)
	if !found || !strings.HasPrefix(payload, "{") {
		return HostResult{}, false
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(payload)))
	if err := dec.Decode(&r); err != nil {
		return HostResult{}, false
	}
	// Colors go into the summary's table as they are: only real ones.
	for _, c := range []string{r.Previous, r.Target, r.Active} {
		if c != "" && c != "blue" && c != "green" {
			return HostResult{}, false
		}
	}
	return r, true
}

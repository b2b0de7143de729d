package deploy

// The services' roles in what a run reports: the summary, the outputs,
// the history and mode status.

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
)

func (rr RoleRun) empty() bool {
	return len(rr.Shared) == 0 && len(rr.Jobs) == 0 && len(rr.Singletons) == 0
}

// entry is the history's record of the roles, nil when there were none.
func (rr RoleRun) entry() *ledger.Roles {
	if rr.empty() {
		return nil
	}
	return &ledger.Roles{Shared: rr.Shared, Jobs: rr.Jobs, Singletons: rr.Singletons}
}

// json is the roles output: one line of JSON, "" when there were none.
func (rr RoleRun) json() string {
	e := rr.entry()
	if e == nil {
		return ""
	}
	b, err := json.Marshal(e)
	if err != nil {
		return ""
	}
	return string(b)
}

// summaryRows adds the summary's rows for the roles.
func (rr RoleRun) summaryRows(b *strings.Builder) {
	if len(rr.Shared) > 0 {
		fmt.Fprintf(b, "| Shared services | %s |\n", codeList(rr.Shared))
	}
	if len(rr.Jobs) > 0 {
		fmt.Fprintf(b, "| Jobs run | %s |\n", codeList(rr.Jobs))
	}
	if len(rr.Singletons) > 0 {
		fmt.Fprintf(b, "| Singletons | %s |\n", codeList(rr.Singletons))
	}
}

// sharedStatus is mode status's report of the shared services: which run,
// read from the shared project, touching nothing.
func (r *run) sharedStatus(ctx context.Context) {
	project := compose.SharedProjectName(r.cfg.ProjectName)
	cs, err := r.d.Engine.List(ctx, project)
	if err != nil {
		r.d.Report.Warnf("failed to list the shared services (%s): %v", project, err)
		return
	}
	for _, c := range cs {
		state := c.State
		if c.Health != "" {
			state += ", " + c.Health
		}
		r.res.Roles.Shared = append(r.res.Roles.Shared, fmt.Sprintf("%s %s (%s)", c.Service, state, c.Name))
	}
	if len(cs) > 0 {
		r.d.Report.Infof("shared services (%s, once per host): %s", project, strings.Join(r.res.Roles.Shared, "; "))
	}
}

// sharedDiffProblems refuses shared services that blue's and green's files
// define differently (a shared service that uses BLUEGREEN_COLOR or
// BLUEGREEN_PORT, or two color files that disagree): they run once for
// both colors, so every deploy would recreate them, restarting the
// database each time.
func (r *run) sharedDiffProblems() []string {
	blue, green := r.plans[color.Blue].Shared, r.plans[color.Green].Shared
	if blue == nil && green == nil {
		return nil
	}
	if blue == nil || green == nil || !reflect.DeepEqual(blue.ServiceNames(), green.ServiceNames()) {
		return []string{"the blue and green compose files declare different shared services: a shared service runs once for both colors, so declare the same ones in both"}
	}
	var problems []string
	for _, name := range blue.ServiceNames() {
		if !reflect.DeepEqual(blue.Services[name], green.Services[name]) {
			problems = append(problems, fmt.Sprintf("shared service %s is defined differently for blue and green (it uses ${BLUEGREEN_COLOR} or ${BLUEGREEN_PORT}, or the color files differ): it runs once for both colors, so every deploy would recreate it; define it the same for both", name))
		}
	}
	return problems
}

// setImage puts a service changed by useImages back into its part of the
// plan: the color's project, or its singletons.
func (p *plan) setImage(name string, svc types.ServiceConfig) {
	if _, ok := p.Project.Services[name]; ok {
		p.Project.Services[name] = svc
		return
	}
	if p.Singletons != nil {
		p.Singletons.Services[name] = svc
	}
}

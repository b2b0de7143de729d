package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
)

// foreignColor is a running compose project named like a color of another
// base name, <prefix>-blue or <prefix>-green, that publishes a port this
// deploy's colors need.
type foreignColor struct {
	Prefix     string // the base name it runs under: what project-name should say
	Project    string // <prefix>-<color>
	Containers []string
	Ports      []string // "8081 (blue-port)"
}

// refuseForeignColors stops the deploy before anything is touched when the
// colors' host ports are held by compose projects named <prefix>-blue or
// <prefix>-green for another prefix than project-name. That is a host the
// seed's deploy.sh ran with its own CONTAINER_NAME (deploy.sh names its
// projects "${CONTAINER_NAME}-<color>"), or an earlier run with another
// project-name: the old color keeps its port, the new color cannot take
// it, and the first deploy would fail halfway on a taken port, or worse,
// succeed once and leave the old container running beside ours. The fix
// is one input, so the error names it. In status mode, which changes
// nothing, it only warns. Ports held by anything else are left to the
// start's own check, which names the holder.
func (r *run) refuseForeignColors(ctx context.Context) error {
	found, err := r.foreignColors(ctx)
	if err != nil {
		r.d.Report.Warnf("could not check for other projects on the colors' ports: %v", err)
		return nil
	}
	if len(found) == 0 {
		return nil
	}
	problems := foreignProblems(found, r.cfg)
	if r.cfg.Mode == config.ModeStatus {
		for _, p := range problems {
			r.d.Report.Warnf("%s", p)
		}
		return nil
	}
	return &config.ValidationError{Problems: problems}
}

// foreignColors lists the foreign color projects on the colors' ports.
func (r *run) foreignColors(ctx context.Context) ([]foreignColor, error) {
	portName := map[uint16]string{}
	var ports []int
	for _, c := range color.All {
		p := r.cfg.Ports[c]
		portName[uint16(p)] = fmt.Sprintf("%d (%s-port)", p, c)
		ports = append(ports, p)
	}
	holders, err := r.d.Engine.Publishers(ctx, ports...)
	if err != nil {
		return nil, err
	}
	ours := map[string]bool{r.cfg.ProjectFor(color.Blue): true, r.cfg.ProjectFor(color.Green): true}
	byProject := map[string]*foreignColor{}
	for _, h := range holders {
		prefix, ok := colorPrefix(h.Project)
		if !ok || ours[h.Project] {
			continue
		}
		fc := byProject[h.Project]
		if fc == nil {
			fc = &foreignColor{Prefix: prefix, Project: h.Project}
			byProject[h.Project] = fc
		}
		fc.Containers = append(fc.Containers, h.Name)
		for _, p := range h.PublishedPorts {
			if name, ok := portName[p]; ok && !contains(fc.Ports, name) {
				fc.Ports = append(fc.Ports, name)
			}
		}
	}
	out := make([]foreignColor, 0, len(byProject))
	for _, fc := range byProject {
		sort.Strings(fc.Ports)
		out = append(out, *fc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Project < out[j].Project })
	return out, nil
}

// colorPrefix returns x for a project named x-blue or x-green.
func colorPrefix(project string) (string, bool) {
	for _, c := range color.All {
		if prefix, ok := strings.CutSuffix(project, "-"+c.String()); ok && prefix != "" {
			return prefix, true
		}
	}
	return "", false
}

// foreignProblems words what was found as input problems: one line per
// project, then the setting that adopts it.
func foreignProblems(found []foreignColor, cfg *config.Config) []string {
	var problems []string
	prefixes := map[string]bool{}
	for _, fc := range found {
		prefixes[fc.Prefix] = true
		problems = append(problems, fmt.Sprintf("compose project %s (container %s) is running on host port %s, but this deploy's colors are %s-blue and %s-green: "+
			"the host was deployed under another name (the seed's deploy.sh names its projects <CONTAINER_NAME>-blue/-green) and the old color would keep its port",
			fc.Project, strings.Join(fc.Containers, ", "), strings.Join(fc.Ports, " and "), cfg.ProjectName, cfg.ProjectName))
	}
	if len(prefixes) == 1 {
		problems = append(problems, fmt.Sprintf("set `project-name: %s` in the step's with: (now %q; when unset it is the repository's name): the deploy then adopts %s, which keeps serving until the switch and is stopped after it like any old color",
			found[0].Prefix, cfg.ProjectName, found[0].Project))
		return problems
	}
	var names []string
	for p := range prefixes {
		names = append(names, p)
	}
	sort.Strings(names)
	problems = append(problems, fmt.Sprintf("projects of several base names (%s) hold the colors' ports: stop all but one (docker compose -p <project> down), then set project-name to the one left; or give this project other blue-port and green-port",
		strings.Join(names, ", ")))
	return problems
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

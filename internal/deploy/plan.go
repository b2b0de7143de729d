package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/distribution/reference"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// plan is one color's loaded project and where its traffic service listens.
type plan struct {
	Color             color.Color
	Project           *types.Project
	Service           string // the service that takes traffic
	HostPort          int    // published on the host (blue-port / green-port)
	ContainerPort     int    // the port the app listens on inside its container
	URL               string // http://<upstream-host>:<HostPort>, an IPv6 host in brackets
	Image             string
	ContainerName     string // expected name of the traffic container
	DockerHealthcheck bool   // the service defines a Docker healthcheck
	// ComposeHash is a hash of the color's compose files, for the history.
	ComposeHash string
	// Roles are the roles of the services of the compose files. Project
	// holds the colored services and the jobs (what starts before the
	// switch), Singletons the singletons (nil when none: start them after
	// the switch) and Shared the shared services (nil when none: converge
	// them before either color), as compose.SplitProject made them.
	Roles      compose.Roles
	Singletons *types.Project
	Shared     *types.Project
	// Notes are lines for the log: what was made the color's own.
	Notes []string
}

// defaultStopGrace is Docker's stop timeout for a service that sets no
// stop_grace_period.
const defaultStopGrace = 10 * time.Second

// StopGrace is the longest stop grace period of the color's services:
// how long a graceful stop of the color may take.
func (p *plan) StopGrace() time.Duration {
	longest := defaultStopGrace
	if p == nil || p.Project == nil {
		return longest
	}
	for _, s := range coloredServices(p) { // the singletons too
		if s.StopGracePeriod != nil && time.Duration(*s.StopGracePeriod) > longest {
			longest = time.Duration(*s.StopGracePeriod)
		}
	}
	return longest
}

// checkFiles loads both colors' projects and checks them and the include
// template; it needs neither Docker nor nginx.
func (r *run) checkFiles() error {
	var problems []string
	r.plans = map[color.Color]*plan{}
	for _, c := range color.All {
		p, errs := r.loadPlan(c)
		problems = append(problems, errs...)
		r.plans[c] = p
	}
	if r.plans[color.Blue].Project != nil && r.plans[color.Green].Project != nil {
		problems = append(problems, r.crossColorProblems()...)
		problems = append(problems, r.sharedDiffProblems()...)
	}
	text := r.cfg.Nginx.Template
	if text == "" {
		text = nginx.DefaultTemplate
	}
	tmpl, err := nginx.ParseTemplate(text)
	if err != nil {
		problems = append(problems, fmt.Sprintf("nginx-include-template: %v", err))
	}
	r.tmpl = tmpl
	for _, c := range color.All {
		// With the files' problems: one run says everything.
		if tmpl != nil && r.plans[c].Service != "" {
			if _, err := r.tmpl.Render(r.templateData(r.plans[c], compose.Container{})); err != nil {
				problems = append(problems, fmt.Sprintf("nginx-include-template does not render for %s: %v", c, err))
			}
		}
	}
	if len(problems) > 0 {
		return &config.ValidationError{Problems: dedupe(problems)}
	}
	said := map[string]bool{}
	for _, c := range color.All {
		for _, w := range append(compose.Warnings(r.plans[c].Project), r.plans[c].Roles.Warnings()...) {
			// Both colors' files often share an env_file or a setting:
			// each finding is said once.
			if (c == color.Blue || !r.cfg.SingleFile) && !said[w] {
				said[w] = true
				r.d.Report.Warnf("%s", w)
			}
		}
	}
	if len(problems) > 0 {
		return &config.ValidationError{Problems: dedupe(problems)}
	}
	for _, c := range color.All {
		p := r.plans[c]
		r.d.Report.Infof("%-5s: project %s, files %s, service %s on %s (container port %d), image %s",
			c, r.cfg.ProjectFor(c), strings.Join(relFiles(p.Project), ", "), p.Service, p.URL, p.ContainerPort, p.Image)
		for _, note := range p.Notes {
			r.d.Report.Infof("%-5s: %s", c, note)
		}
	}
	return nil
}

// Check runs the preflight's checks of the compose files and the include
// template, touching nothing, for a run whose inputs are already known to
// be invalid: the user then reads every problem, of inputs and of compose
// files alike, in one run instead of two. Colors whose files are missing
// or whose port is invalid are skipped (the inputs' problems say why).
func (d *Deployer) Check() []string {
	cfg := d.Config
	if cfg == nil || cfg.ProjectName == "" || cfg.Mode == config.ModeHistory {
		return nil
	}
	for _, c := range color.All {
		if cfg.Ports[c] == 0 || len(cfg.Files[c]) == 0 {
			return nil
		}
		for _, f := range cfg.Files[c] {
			if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
				return nil
			}
		}
	}
	r := &run{d: d, cfg: cfg, res: &Result{DeployID: "check"}}
	var verr *config.ValidationError
	if err := r.checkFiles(); errors.As(err, &verr) {
		return verr.Problems
	}
	return nil
}

// loadPlan loads one color's project and finds its traffic service.
func (r *run) loadPlan(c color.Color) (*plan, []string) {
	cfg := r.cfg
	port := cfg.Ports[c]
	env := make(map[string]string, len(r.d.Env)+2)
	for k, v := range r.d.Env {
		env[k] = v
	}
	env["BLUEGREEN_COLOR"] = c.String()
	env["BLUEGREEN_PORT"] = strconv.Itoa(port)
	var envFiles []string
	if cfg.EnvFile != "" {
		envFiles = []string{cfg.EnvFile}
	}
	files := cfg.Files[c]
	input := "compose-file"
	if !cfg.SingleFile {
		input = c.String() + "-compose-file"
	}
	project, err := compose.Load(context.Background(), compose.LoadOptions{
		ProjectName: cfg.ProjectFor(c),
		Files:       files,
		WorkingDir:  cfg.WorkDir,
		EnvFiles:    envFiles,
		Environment: env,
		Profiles:    cfg.Profiles,
	})
	p := &plan{Color: c, HostPort: port, URL: "http://" + net.JoinHostPort(cfg.UpstreamHost, strconv.Itoa(port))}
	if err != nil {
		return p, []string{fmt.Sprintf("%s (%s): %v", input, strings.Join(files, ", "), err)}
	}
	p.Project = project
	p.ComposeHash = hashFiles(files)
	compose.TagBuilds(project, r.res.DeployID) // a service with only build: gets <project>-<service>:<deploy id>
	var problems []string
	if err := compose.Check(project); err != nil {
		var u *compose.UnsupportedError
		if errors.As(err, &u) {
			for _, pr := range u.Problems {
				problems = append(problems, fmt.Sprintf("%s: %s", input, pr)) // service "web": key: hint, or top-level key: hint
			}
		} else {
			problems = append(problems, fmt.Sprintf("%s: %v", input, err))
		}
	}
	svc, err := trafficService(project, cfg.Service, r.declaredRoles(""))
	if err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", input, err))
	} else {
		p.Service = svc.Name
		if note := compose.PublishOnColorPort(project, svc.Name, port, c.String()); note != "" {
			p.Notes = append(p.Notes, note)
			svc = project.Services[svc.Name]
		}
		if cfg.Image != "" {
			svc.Image = cfg.Image
			project.Services[svc.Name] = svc
		}
		p.Image = svc.Image
		p.DockerHealthcheck = svc.HealthCheck != nil && !svc.HealthCheck.Disable && len(svc.HealthCheck.Test) > 0 && svc.HealthCheck.Test[0] != "NONE"
		target, ok := publishedTarget(svc, port)
		if !ok {
			hint := fmt.Sprintf(`publish it, for example ports: ["%d:8080"]`, port)
			if cfg.SingleFile {
				hint = `in single-file mode publish ports: ["${BLUEGREEN_PORT}:8080"] (8080 being the app's port), so each color gets its own host port`
			}
			problems = append(problems, fmt.Sprintf("%s: service %s does not publish host port %d (%s-port) but %s; %s",
				input, svc.Name, port, c, describePorts(svc), hint))
		}
		p.ContainerPort = target
	}
	problems = append(problems, imageProblems(input, project)...)
	roles, roleProblems := compose.ClassifyServices(project, r.declaredRoles(p.Service))
	for _, pr := range roleProblems {
		if pr.Input != "" {
			problems = append(problems, pr.String())
		} else {
			problems = append(problems, fmt.Sprintf("%s: %s", input, pr))
		}
	}
	p.Roles = roles
	p.Notes = append(p.Notes, compose.NameContainersByColor(project, roles, c.String())...)
	if svc, ok := project.Services[p.Service]; ok {
		p.ContainerName = svc.ContainerName
		if p.ContainerName == "" {
			p.ContainerName = fmt.Sprintf("%s-%s-1", project.Name, svc.Name)
		}
	}
	parts, err := compose.SplitProject(project, cfg.ProjectName, roles)
	if err != nil {
		return p, append(problems, fmt.Sprintf("%s: %v", input, err))
	}
	p.Project, p.Singletons, p.Shared = parts.Color, parts.Singletons, parts.Shared
	return p, problems
}

// crossColorProblems finds what would make blue and green collide when
// they run side by side during a deploy.
func (r *run) crossColorProblems() []string {
	blue, green := r.plans[color.Blue], r.plans[color.Green]
	var problems []string
	if blue.Service != "" && green.Service != "" && blue.Service != green.Service && r.cfg.Service == "" {
		problems = append(problems, fmt.Sprintf("the blue and green compose files take traffic on different services (%s, %s): set service", blue.Service, green.Service))
	}
	// Only the colored parts can collide: shared services run once, in
	// their own project, and keep container_name and host ports as written.
	greens := coloredServices(green)
	for name, bs := range coloredServices(blue) {
		gs, ok := greens[name]
		if !ok {
			continue
		}
		if bs.ContainerName != "" && bs.ContainerName == gs.ContainerName {
			problems = append(problems, fmt.Sprintf("service %s sets container_name %q for both colors; blue and green run side by side during a deploy, so remove container_name or make it differ (for example %s-${BLUEGREEN_COLOR})", name, bs.ContainerName, bs.ContainerName))
		}
		if blue.Roles.Of(name) == compose.Singleton && green.Roles.Of(name) == compose.Singleton {
			continue // never both at once: a stopped container holds no host port
		}
		for _, port := range hostPorts(bs) {
			for _, other := range hostPorts(gs) {
				if port == other {
					problems = append(problems, fmt.Sprintf("service %s publishes host port %s in both colors; blue and green run side by side during a deploy, so give each color its own port (${BLUEGREEN_PORT}) or drop the host port", name, port))
				}
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// publishedTarget finds the container port published on host port port.
func publishedTarget(svc types.ServiceConfig, port int) (int, bool) {
	for _, pc := range svc.Ports {
		if pc.Protocol != "" && pc.Protocol != "tcp" {
			continue
		}
		lo, hi, ok := parseRange(pc.Published)
		if ok && port >= lo && port <= hi {
			return int(pc.Target) + (port - lo), true
		}
	}
	return 0, false
}

func hostPorts(svc types.ServiceConfig) []string {
	var out []string
	for _, pc := range svc.Ports {
		if pc.Published != "" {
			out = append(out, pc.HostIP+":"+pc.Published+"/"+pc.Protocol)
		}
	}
	return out
}

func parseRange(s string) (int, int, bool) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil {
		return 0, 0, false
	}
	if !isRange {
		return a, a, true
	}
	b, err := strconv.Atoi(hi)
	if err != nil {
		return 0, 0, false
	}
	return a, b, true
}

func describePorts(svc types.ServiceConfig) string {
	if len(svc.Ports) == 0 {
		return "no port at all"
	}
	var parts []string
	for _, pc := range svc.Ports {
		if pc.Published == "" {
			parts = append(parts, fmt.Sprintf("container port %d unpublished", pc.Target))
		} else {
			parts = append(parts, fmt.Sprintf("%s:%d", pc.Published, pc.Target))
		}
	}
	return "publishes " + strings.Join(parts, ", ")
}

func relFiles(p *types.Project) []string {
	out := make([]string, 0, len(p.ComposeFiles))
	for _, f := range p.ComposeFiles {
		if rel, ok := strings.CutPrefix(f, p.WorkingDir+"/"); ok {
			f = rel
		}
		out = append(out, f)
	}
	return out
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// hashFiles is a short hash of the files' contents ("" when one cannot be
// read): two deploys of one image with different settings differ in it.
func hashFiles(files []string) string {
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return ""
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(f), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// imageProblems checks every service's final image (after interpolation
// and the image input) as Docker would parse it, so that a bad reference
// fails before anything is touched, and a value with a line break can
// never reach an output.
func imageProblems(input string, p *types.Project) []string {
	var problems []string
	for _, name := range p.ServiceNames() {
		img := p.Services[name].Image
		if img == "" {
			continue // a service that builds its image; the build names it
		}
		if _, err := reference.ParseNormalizedNamed(img); err != nil {
			problems = append(problems, fmt.Sprintf("%s: service %s: image %q is not a Docker image reference (%v): use one such as ghcr.io/acme/app:1.2.3", input, name, img, err))
		}
	}
	return problems
}

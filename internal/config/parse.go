package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/build"
	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/execx"
	"github.com/bluegreen-action/bluegreen/internal/httpstatus"
	"github.com/bluegreen-action/bluegreen/internal/pull"
)

// Parse and the helpers that read one kind of input each. Every helper
// takes the input's name only: its default comes from Inputs.

// parser accumulates problems while reading inputs.
type parser struct {
	in       reader
	problems []string
	warnings []string
	// mode is the mode read so far, for checks that depend on it.
	mode Mode
}

func (p *parser) addf(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *parser) warnf(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

// Parse reads every input from getenv and checks it. cwd is the process's
// working directory, used when neither working-directory nor
// GITHUB_WORKSPACE is set. A *ValidationError lists all problems.
func Parse(getenv Getenv, cwd string) (*Config, error) {
	p := &parser{in: reader{getenv: getenv}}
	cfg := &Config{
		Files: map[color.Color][]string{},
		Ports: map[color.Color]int{},
		Run: RunInfo{
			Repository: getenv("GITHUB_REPOSITORY"),
			RunID:      getenv("GITHUB_RUN_ID"),
			SHA:        getenv("GITHUB_SHA"),
			Actor:      getenv("GITHUB_ACTOR"),
			Workflow:   getenv("GITHUB_WORKFLOW"),
		},
	}

	modes := make([]string, len(Modes))
	for i, m := range Modes {
		modes[i] = string(m)
	}
	cfg.Mode = Mode(p.choice("mode", modes...))
	p.mode = cfg.Mode
	cfg.Fleet = p.fleet()
	cfg.WorkDir = p.workDir(getenv, cwd)
	cfg.ProjectName = p.projectName(getenv, cfg.WorkDir)
	p.composeFiles(cfg)
	cfg.Service = p.str("service")
	cfg.Ports[color.Blue] = p.port("blue-port")
	cfg.Ports[color.Green] = p.port("green-port")
	if cfg.Ports[color.Blue] != 0 && cfg.Ports[color.Blue] == cfg.Ports[color.Green] {
		p.addf("blue-port and green-port are both %d: each color needs its own host port (for example 8081 and 8082)", cfg.Ports[color.Blue])
	}
	cfg.UpstreamHost = p.upstreamHost("upstream-host")
	if v := p.str("env-file"); v != "" {
		cfg.EnvFile = p.existingFile("env-file", v, abs(cfg.WorkDir, v))
	}
	cfg.Profiles = splitList(p.str("profiles"))
	cfg.Roles = p.roles()
	cfg.Image = p.image("image")
	cfg.Pull = p.pullPolicy("pull")
	cfg.Build = build.Policy(p.choice("build", string(build.Auto), string(build.Always), string(build.Never)))
	cfg.Registry = Registry{
		Server:   p.str("registry"),
		Username: p.str("registry-username"),
		Password: p.str("registry-password"),
	}
	if (cfg.Registry.Username == "") != (cfg.Registry.Password == "") {
		p.addf("registry-username and registry-password must be given together (one of them is empty)")
	}
	cfg.Health = p.health()
	cfg.Nginx = p.nginx(cfg)
	cfg.DrainTimeout = p.duration("drain-timeout", false)
	cfg.StopTimeout = p.duration("stop-timeout", false)
	cfg.LockTimeout = p.duration("lock-timeout", false)
	cfg.KeepPrevious = p.boolean("keep-previous")
	cfg.Observe = p.duration("observe-seconds", false)
	cfg.Operate = p.operate(cfg)
	cfg.Canary = p.canary(cfg)
	cfg.Maintenance = p.maintenance(cfg)
	if cfg.Mode.TrafficOnly() && cfg.Fleet.Enabled() {
		p.addf("mode %s is not supported with hosts yet: run it on each host (without hosts), or leave hosts empty", cfg.Mode)
	}
	cfg.Warnings = p.warnings

	if len(p.problems) > 0 {
		return cfg, &ValidationError{Problems: p.problems}
	}
	return cfg, nil
}

func (p *parser) nginx(cfg *Config) Nginx {
	n := Nginx{
		IncludePath: p.str("nginx-include-path"),
		Template:    p.str("nginx-include-template"),
		TestCmd:     p.command("nginx-test-command"),
		ReloadCmd:   p.command("nginx-reload-command"),
		Container:   p.str("nginx-container"),
		VerifyURL:   p.str("verify-url"),
	}
	if n.Container == "" {
		n.IncludePath = abs(cfg.WorkDir, n.IncludePath)
		// On a fleet the include is each host's, checked there.
		if dir := filepath.Dir(n.IncludePath); !isDir(dir) && !cfg.Mode.ReadOnly() && !cfg.Fleet.Enabled() {
			p.addf("nginx-include-path %q: its directory %q does not exist (the seed uses /etc/nginx/conf.d/service-url.inc)", n.IncludePath, dir)
		}
	} else if !filepath.IsAbs(n.IncludePath) {
		p.addf("nginx-include-path %q must be an absolute path inside the nginx container %q (for example /etc/nginx/conf.d/service-url.inc)", n.IncludePath, n.Container)
	}
	p.containerCommands(n)
	// nginx-include-template is not parsed here: the deploy's preflight
	// parses it with nginx's template rules and reports a bad one as an
	// invalid input, so config need not depend on package nginx.
	if v := n.VerifyURL; v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		p.addf("verify-url %q must be an http:// or https:// URL (for example http://127.0.0.1/)", v)
	}
	return n
}

// str returns an input's value, or its declared default.
func (p *parser) str(name string) string {
	return p.in.get(name)
}

// choice reads one of valid, in any case.
func (p *parser) choice(name string, valid ...string) string {
	v := strings.ToLower(p.str(name))
	for _, ok := range valid {
		if v == ok {
			return v
		}
	}
	p.addf("%s %q is not valid: use one of %s", name, v, strings.Join(valid, ", "))
	return declared(name).Default
}

// pullPolicy reads a policy as docker compose spells it, in any case.
func (p *parser) pullPolicy(name string) pull.Policy {
	v := strings.ToLower(p.str(name))
	pol, err := pull.Parse(v)
	if err != nil {
		names := make([]string, len(pull.All))
		for i, a := range pull.All {
			names[i] = string(a)
		}
		p.addf("%s %q is not valid: use one of %s", name, v, strings.Join(names, ", "))
		pol, _ = pull.Parse(declared(name).Default)
	}
	return pol
}

func (p *parser) boolean(name string) bool {
	v := p.str(name)
	switch strings.ToLower(v) {
	case "true", "yes", "1", "on":
		return true
	case "false", "no", "0", "off", "":
		return false
	}
	p.addf("%s %q is not a boolean: use true or false", name, v)
	return false
}

func (p *parser) port(name string) int {
	v := p.str(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		p.addf("%s %q is not a TCP port: use a number from 1 to 65535", name, v)
		return 0
	}
	return n
}

func (p *parser) positiveInt(name string) int {
	v, def := p.str(name), declared(name).Default
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		p.addf("%s %q is not a positive whole number (for example %s)", name, v, def)
		n, _ = strconv.Atoi(def)
	}
	return n
}

// duration reads Go syntax ("1m30s", "500ms") or plain seconds ("30",
// "1.5"); an empty value with an empty default is zero. A value that
// parses but is out of range is told so, not sent back to the syntax.
func (p *parser) duration(name string, positive bool) time.Duration {
	v, def := p.str(name), declared(name).Default
	if v == "" {
		return 0
	}
	example := def
	if d, _ := ParseDuration(def); d <= 0 {
		example = "10s"
	}
	d, err := ParseDuration(v)
	switch {
	case err != nil:
		p.addf("%s %q is not a duration: use Go syntax such as 500ms, 2s or 1m30s, or plain seconds such as 30", name, v)
	case positive && d <= 0:
		p.addf("%s %q must be positive: give a duration above zero (for example %s)", name, v, example)
	case d < 0:
		p.addf("%s %q must not be negative: give 0 or a positive duration (for example %s)", name, v, example)
	default:
		return d
	}
	d, _ = ParseDuration(def)
	return d
}

// ParseDuration reads Go duration syntax or a plain number of seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.Abs(f) > float64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("failed to read duration %q: out of range", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

func (p *parser) command(name string) []string {
	v := p.str(name)
	args, err := execx.Split(v)
	if err != nil {
		p.addf("%s %q cannot be read as a command: %v", name, v, err)
		return nil
	}
	return args
}

// containerCommands refuses a docker exec prefix on the nginx commands when
// nginx-container is set: they already run inside that container through
// the Docker API, and the runner's docker CLI is not in the action's image.
func (p *parser) containerCommands(n Nginx) {
	if n.Container == "" {
		return
	}
	for _, c := range []struct {
		input string
		args  []string
	}{{"nginx-test-command", n.TestCmd}, {"nginx-reload-command", n.ReloadCmd}} {
		if len(c.args) == 0 {
			continue
		}
		if base := filepath.Base(c.args[0]); base == "docker" || base == "docker-compose" {
			p.addf("%s %q: with nginx-container set it runs inside container %q through the Docker API, so leave out the %q prefix (the default is %q)",
				c.input, strings.Join(c.args, " "), n.Container, c.args[0]+" exec …", declared(c.input).Default)
		}
	}
}

func (p *parser) statuses(name string) httpstatus.Set {
	v := p.str(name)
	s, err := httpstatus.ParseSet(v)
	if err != nil {
		p.addf("%s %q: %v", name, v, err)
		s, _ = httpstatus.ParseSet(declared(name).Default)
	}
	return s
}

// existingFile checks that the file an input names exists; value is the
// input as given, path where it was looked for. A missing file most often
// means the job did not check the repository out before this step.
func (p *parser) existingFile(name, value, path string) string {
	if p.mode == ModeHistory {
		// The history is on the host; a job that only reads it need not
		// check the repository out.
		return path
	}
	st, err := os.Stat(path)
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.addf("%s %q does not exist in %q: was the repository checked out (actions/checkout) before this step? Relative paths are read from working-directory",
			name, value, filepath.Dir(path))
	case errors.As(err, &pe):
		p.addf("%s %q cannot be read in %q: %v", name, value, filepath.Dir(path), pe.Err)
	case err != nil:
		p.addf("%s %q cannot be read: %v", name, value, err)
	case st.IsDir():
		p.addf("%s %q is a directory (%q), not a file", name, value, path)
	}
	return path
}

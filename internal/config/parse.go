package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/execx"
	"github.com/bluegreen-action/bluegreen/internal/health"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/pull"
)

// Parse and the helpers that read one kind of input each.

// parser accumulates problems while reading inputs.
type parser struct {
	in       Inputs
	problems []string
}

func (p *parser) addf(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// Parse reads every input from getenv and checks it. cwd is the process's
// working directory, used when neither working-directory nor
// GITHUB_WORKSPACE is set. A *ValidationError lists all problems.
func Parse(getenv Getenv, cwd string) (*Config, error) {
	p := &parser{in: Inputs{getenv: getenv}}
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

	cfg.Mode = Mode(p.choice("mode", string(ModeDeploy), string(ModeDeploy), string(ModeRollback), string(ModeStatus)))
	cfg.WorkDir = p.workDir(getenv, cwd)
	cfg.ProjectName = p.projectName(getenv, cfg.WorkDir)
	p.composeFiles(cfg)
	cfg.Service = p.in.Get("service")
	cfg.Ports[color.Blue] = p.port("blue-port", DefaultBluePort)
	cfg.Ports[color.Green] = p.port("green-port", DefaultGreenPort)
	if cfg.Ports[color.Blue] != 0 && cfg.Ports[color.Blue] == cfg.Ports[color.Green] {
		p.addf("blue-port and green-port are both %d: each color needs its own host port (for example 8081 and 8082)", cfg.Ports[color.Blue])
	}
	cfg.UpstreamHost = p.str("upstream-host", DefaultUpstreamHost)
	if strings.ContainsAny(cfg.UpstreamHost, " /;{}") {
		p.addf("upstream-host %q is not a host name or IP address (for example 127.0.0.1)", cfg.UpstreamHost)
	}
	if v := p.in.Get("env-file"); v != "" {
		cfg.EnvFile = p.existingFile("env-file", abs(cfg.WorkDir, v))
	}
	cfg.Profiles = splitList(p.in.Get("profiles"))
	cfg.Image = p.in.Get("image")
	if strings.ContainsAny(cfg.Image, " \t") {
		p.addf("image %q contains white space: give one image reference such as ghcr.io/acme/app:1.2.3", cfg.Image)
	}
	cfg.Pull = p.pullPolicy("pull", string(pull.Missing))
	cfg.Registry = Registry{
		Server:   p.in.Get("registry"),
		Username: p.in.Get("registry-username"),
		Password: p.in.Get("registry-password"),
	}
	if (cfg.Registry.Username == "") != (cfg.Registry.Password == "") {
		p.addf("registry-username and registry-password must be given together (one of them is empty)")
	}

	cfg.Health = Health{
		Path:         p.str("health-path", DefaultHealthPath),
		Accept:       p.statuses("health-status", DefaultHealthStatus),
		Retries:      p.positiveInt("health-retries", DefaultHealthRetries),
		Interval:     p.duration("health-interval", DefaultHealthInterval, true),
		Timeout:      p.duration("health-timeout", DefaultHealthTimeout, true),
		StartupDelay: p.duration("startup-delay", 0, false),
	}
	if !strings.HasPrefix(cfg.Health.Path, "/") {
		p.addf("health-path %q must start with / (for example /api/health)", cfg.Health.Path)
	}

	cfg.Nginx = Nginx{
		IncludePath: p.str("nginx-include-path", DefaultIncludePath),
		Template:    p.in.Get("nginx-include-template"),
		TestCmd:     p.command("nginx-test-command", DefaultTestCommand),
		ReloadCmd:   p.command("nginx-reload-command", DefaultReloadCommand),
		Container:   p.in.Get("nginx-container"),
		VerifyURL:   p.in.Get("verify-url"),
	}
	if cfg.Nginx.Container == "" {
		cfg.Nginx.IncludePath = abs(cfg.WorkDir, cfg.Nginx.IncludePath)
		if dir := filepath.Dir(cfg.Nginx.IncludePath); !isDir(dir) && cfg.Mode != ModeStatus {
			p.addf("nginx-include-path %q: its directory %s does not exist (the seed uses /etc/nginx/conf.d/service-url.inc)", cfg.Nginx.IncludePath, dir)
		}
	} else if !filepath.IsAbs(cfg.Nginx.IncludePath) {
		p.addf("nginx-include-path %q must be an absolute path inside the nginx container %s", cfg.Nginx.IncludePath, cfg.Nginx.Container)
	}
	p.containerCommands(cfg.Nginx)
	if cfg.Nginx.Template != "" {
		if _, err := nginx.ParseTemplate(cfg.Nginx.Template); err != nil {
			p.addf("nginx-include-template: %v", err)
		}
	}
	if v := cfg.Nginx.VerifyURL; v != "" && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		p.addf("verify-url %q must be an http:// or https:// URL (for example http://127.0.0.1/)", v)
	}

	cfg.DrainTimeout = p.duration("drain-timeout", DefaultDrainTimeout, false)
	cfg.StopTimeout = p.duration("stop-timeout", 0, false)
	cfg.LockTimeout = p.duration("lock-timeout", DefaultLockTimeout, false)
	cfg.KeepPrevious = p.boolean("keep-previous", false)
	cfg.Observe = p.duration("observe-seconds", 0, false)

	if len(p.problems) > 0 {
		return cfg, &ValidationError{Problems: p.problems}
	}
	return cfg, nil
}

func (p *parser) str(name, def string) string {
	if v := p.in.Get(name); v != "" {
		return v
	}
	return def
}

func (p *parser) choice(name, def string, valid ...string) string {
	v := strings.ToLower(p.str(name, def))
	for _, ok := range valid {
		if v == ok {
			return v
		}
	}
	p.addf("%s %q is not valid: use one of %s", name, v, strings.Join(valid, ", "))
	return def
}

// pullPolicy reads a policy as docker compose spells it, in any case.
func (p *parser) pullPolicy(name, def string) pull.Policy {
	v := strings.ToLower(p.str(name, def))
	pol, err := pull.Parse(v)
	if err != nil {
		names := make([]string, len(pull.All))
		for i, a := range pull.All {
			names[i] = string(a)
		}
		p.addf("%s %q is not valid: use one of %s", name, v, strings.Join(names, ", "))
		pol, _ = pull.Parse(def)
	}
	return pol
}

func (p *parser) boolean(name string, def bool) bool {
	v := p.in.Get(name)
	if v == "" {
		return def
	}
	switch strings.ToLower(v) {
	case "true", "yes", "1", "on":
		return true
	case "false", "no", "0", "off":
		return false
	}
	p.addf("%s %q is not a boolean: use true or false", name, v)
	return def
}

func (p *parser) port(name string, def int) int {
	v := p.in.Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		p.addf("%s %q is not a TCP port: use a number from 1 to 65535", name, v)
		return 0
	}
	return n
}

func (p *parser) positiveInt(name string, def int) int {
	v := p.in.Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		p.addf("%s %q is not a positive whole number (for example %d)", name, v, def)
		return def
	}
	return n
}

// duration reads Go syntax ("1m30s", "500ms") or plain seconds ("30", "1.5").
func (p *parser) duration(name string, def time.Duration, positive bool) time.Duration {
	v := p.in.Get(name)
	if v == "" {
		return def
	}
	d, err := ParseDuration(v)
	if err == nil && d < 0 {
		err = errors.New("negative")
	}
	if err == nil && positive && d == 0 {
		err = errors.New("zero")
	}
	if err != nil {
		p.addf("%s %q is not a duration: use Go syntax such as 500ms, 2s or 1m30s, or plain seconds such as 30", name, v)
		return def
	}
	return d
}

// ParseDuration reads Go duration syntax or a plain number of seconds.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

func (p *parser) command(name, def string) []string {
	v := p.str(name, def)
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
		input, def string
		args       []string
	}{{"nginx-test-command", DefaultTestCommand, n.TestCmd}, {"nginx-reload-command", DefaultReloadCommand, n.ReloadCmd}} {
		if len(c.args) == 0 {
			continue
		}
		if base := filepath.Base(c.args[0]); base == "docker" || base == "docker-compose" {
			p.addf("%s %q: with nginx-container set it runs inside container %q through the Docker API, so leave out the %q prefix (the default is %q)",
				c.input, strings.Join(c.args, " "), n.Container, c.args[0]+" exec …", c.def)
		}
	}
}

func (p *parser) statuses(name, def string) health.StatusSet {
	v := p.str(name, def)
	s, err := health.ParseStatusSet(v)
	if err != nil {
		p.addf("%s %q: %v", name, v, err)
		s, _ = health.ParseStatusSet(def)
	}
	return s
}

func (p *parser) existingFile(name, path string) string {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		p.addf("%s %s does not exist (paths are relative to the working directory)", name, path)
	case st.IsDir():
		p.addf("%s %s is a directory, not a file", name, path)
	}
	return path
}

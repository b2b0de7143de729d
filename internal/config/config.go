// Package config turns the action's inputs into one typed Config. Every
// input is read once here; nothing below main reads the environment. Parse
// checks every input and reports all problems at once, each naming the
// input, the bad value and what would be valid, so a user fixes a workflow
// in one round instead of one error per run.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/execx"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// Defaults, chosen to match the seed's deploy.sh where it had one and
// kamal-proxy's otherwise.
const (
	DefaultComposeFile    = "docker-compose.yml"
	DefaultBluePort       = 8081
	DefaultGreenPort      = 8082
	DefaultUpstreamHost   = "127.0.0.1"
	DefaultHealthPath     = "/"
	DefaultHealthStatus   = "200"
	DefaultHealthRetries  = 15
	DefaultHealthInterval = 2 * time.Second
	DefaultHealthTimeout  = 5 * time.Second
	DefaultIncludePath    = "/etc/nginx/conf.d/service-url.inc"
	DefaultTestCommand    = "nginx -t"
	DefaultReloadCommand  = "nginx -s reload"
	DefaultDrainTimeout   = 30 * time.Second
	DefaultLockTimeout    = 10 * time.Minute
)

// Mode is what a run does.
type Mode string

// The modes a run can take.
const (
	ModeDeploy   Mode = "deploy"   // start the idle color, switch to it, stop the old one
	ModeRollback Mode = "rollback" // bring the previous color back
	ModeStatus   Mode = "status"   // report the live color only; touch nothing
)

// PullPolicy says when images are pulled.
type PullPolicy string

// The pull policies, named as docker compose names them.
const (
	PullAlways  PullPolicy = "always"
	PullMissing PullPolicy = "missing"
	PullNever   PullPolicy = "never"
)

// Config is every input, parsed and checked.
type Config struct {
	Mode Mode
	// WorkDir is the directory compose files and env files are relative to:
	// working-directory, else GITHUB_WORKSPACE, else the current directory.
	WorkDir string
	// Files holds each color's compose files, absolute. In single-file mode
	// both colors share compose-file and SingleFile is true.
	Files      map[color.Color][]string
	SingleFile bool
	// ProjectName is the base name; colors run as <ProjectName>-blue/-green.
	ProjectName string
	// Service is the service that takes traffic; empty means "the only
	// service that publishes a port", decided once the project is loaded.
	Service      string
	Ports        map[color.Color]int
	UpstreamHost string
	EnvFile      string // absolute, or empty
	Profiles     []string
	Image        string // replaces the traffic service's image when set
	Pull         PullPolicy
	Registry     Registry

	Health Health
	Nginx  Nginx

	DrainTimeout time.Duration
	// StopTimeout overrides each container's stop_grace_period; zero means
	// "use the service's own" (Docker's default of 10s when unset).
	StopTimeout  time.Duration
	LockTimeout  time.Duration
	KeepPrevious bool
	Observe      time.Duration

	// Run identifies the workflow run, for the lock record and summary.
	Run RunInfo
}

// Health is how the new color is proven healthy.
type Health struct {
	Path         string
	Accept       StatusSet
	Retries      int
	Interval     time.Duration
	Timeout      time.Duration
	StartupDelay time.Duration
}

// Nginx is how the switch is made.
type Nginx struct {
	IncludePath string
	// Template is the include template's text; empty means the default.
	Template  string
	TestCmd   []string
	ReloadCmd []string
	// Container is the nginx container's name or id when nginx runs in
	// Docker; the commands then run in it through docker exec.
	Container string
	// VerifyURL is the front door, polled after the reload to confirm that
	// nginx routes to the new color. Empty skips the front-door check.
	VerifyURL string
}

// Registry holds credentials for pulling private images.
type Registry struct {
	Server   string
	Username string
	Password string
}

// RunInfo describes who started the deploy.
type RunInfo struct {
	Repository string
	RunID      string
	SHA        string
	Actor      string
	Workflow   string
}

// ProjectFor returns the compose project name of a color.
func (c *Config) ProjectFor(col color.Color) string {
	return c.ProjectName + "-" + col.String()
}

// ErrInvalid marks input problems; the message lists each one.
var ErrInvalid = errors.New("invalid inputs")

// ValidationError lists every input problem found.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d invalid input(s); nothing was changed:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// EnvMap turns KEY=VALUE pairs, as os.Environ gives them, into a map.
func EnvMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Getenv looks up one environment variable ("" when unset).
type Getenv func(string) string

// Inputs reads action inputs the way the Actions runner passes them:
// INPUT_ + the name in upper case, hyphens kept, surrounding space trimmed.
type Inputs struct {
	getenv Getenv
}

// Get returns an input's trimmed value.
func (in Inputs) Get(name string) string {
	return strings.TrimSpace(in.getenv("INPUT_" + strings.ToUpper(name)))
}

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
	cfg.Pull = PullPolicy(p.choice("pull", string(PullMissing), string(PullAlways), string(PullMissing), string(PullNever)))
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

func (p *parser) statuses(name, def string) StatusSet {
	v := p.str(name, def)
	s, err := ParseStatusSet(v)
	if err != nil {
		p.addf("%s %q: %v", name, v, err)
		s, _ = ParseStatusSet(def)
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

func (p *parser) workDir(getenv Getenv, cwd string) string {
	dir := p.in.Get("working-directory")
	base := getenv("GITHUB_WORKSPACE")
	if base == "" {
		base = cwd
	}
	if dir == "" {
		dir = base
	} else {
		dir = abs(base, dir)
	}
	if !isDir(dir) {
		p.addf("working-directory %q is not a directory", dir)
	}
	return filepath.Clean(dir)
}

var projectNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func (p *parser) projectName(getenv Getenv, workDir string) string {
	if v := p.in.Get("project-name"); v != "" {
		if !projectNameRE.MatchString(v) {
			p.addf("project-name %q is not a valid compose project name: use lower-case letters, digits, - and _, starting with a letter or digit (for example spring-backend)", v)
		}
		return v
	}
	name := ""
	if repo := getenv("GITHUB_REPOSITORY"); repo != "" {
		name = repo[strings.LastIndex(repo, "/")+1:]
	} else {
		name = filepath.Base(workDir)
	}
	name = normalizeProjectName(name)
	if name == "" {
		p.addf("project-name is empty and cannot be derived from the repository or directory name: set project-name (for example spring-backend)")
	}
	return name
}

// normalizeProjectName does what docker compose does to a directory name:
// lower-case it and drop characters a project name cannot hold.
func normalizeProjectName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			b.WriteRune(r)
		}
	}
	return strings.TrimLeft(b.String(), "-_")
}

func (p *parser) composeFiles(cfg *Config) {
	blue := splitList(p.in.Get("blue-compose-file"))
	green := splitList(p.in.Get("green-compose-file"))
	shared := splitList(p.in.Get("compose-file"))
	if (len(blue) == 0) != (len(green) == 0) {
		p.addf("blue-compose-file and green-compose-file must be set together (seed style: docker-compose.blue.yml and docker-compose.green.yml), or neither to use compose-file for both colors")
	}
	if len(blue) > 0 && len(green) > 0 {
		cfg.Files[color.Blue] = p.files("blue-compose-file", cfg.WorkDir, blue)
		cfg.Files[color.Green] = p.files("green-compose-file", cfg.WorkDir, green)
		return
	}
	if len(shared) == 0 {
		shared = []string{DefaultComposeFile}
	}
	cfg.SingleFile = true
	files := p.files("compose-file", cfg.WorkDir, shared)
	cfg.Files[color.Blue] = files
	cfg.Files[color.Green] = files
}

func (p *parser) files(name, dir string, list []string) []string {
	out := make([]string, 0, len(list))
	for _, f := range list {
		out = append(out, p.existingFile(name, abs(dir, f)))
	}
	return out
}

// splitList splits a newline- or comma-separated input, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func abs(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// StatusSet is the set of HTTP statuses a health check accepts.
type StatusSet struct {
	ranges [][2]int
}

// ParseStatusSet reads "200", "200,204", "200-299" or "2xx".
func ParseStatusSet(s string) (StatusSet, error) {
	var set StatusSet
	for _, part := range splitList(s) {
		lo, hi, err := parseStatusRange(part)
		if err != nil {
			return StatusSet{}, err
		}
		set.ranges = append(set.ranges, [2]int{lo, hi})
	}
	if len(set.ranges) == 0 {
		return StatusSet{}, errors.New("no status given: use a code (200), a list (200,204) or a range (200-299)")
	}
	sort.Slice(set.ranges, func(i, j int) bool { return set.ranges[i][0] < set.ranges[j][0] })
	return set, nil
}

func parseStatusRange(part string) (int, int, error) {
	bad := fmt.Errorf("%q is not an HTTP status: use a code (200), a list (200,204) or a range (200-299 or 2xx)", part)
	if len(part) == 3 && strings.HasSuffix(strings.ToLower(part), "xx") {
		d := int(part[0] - '0')
		if d < 1 || d > 5 {
			return 0, 0, bad
		}
		return d * 100, d*100 + 99, nil
	}
	lo, hi, isRange := strings.Cut(part, "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil || a < 100 || a > 599 {
		return 0, 0, bad
	}
	if !isRange {
		return a, a, nil
	}
	b, err := strconv.Atoi(strings.TrimSpace(hi))
	if err != nil || b < a || b > 599 {
		return 0, 0, bad
	}
	return a, b, nil
}

// Contains reports whether code is accepted.
func (s StatusSet) Contains(code int) bool {
	for _, r := range s.ranges {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

// String renders the set the way a user would write it.
func (s StatusSet) String() string {
	parts := make([]string, 0, len(s.ranges))
	for _, r := range s.ranges {
		if r[0] == r[1] {
			parts = append(parts, strconv.Itoa(r[0]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", r[0], r[1]))
		}
	}
	return strings.Join(parts, ",")
}

// InputNames lists every input Parse reads, sorted. action.yml must declare
// exactly these; a test holds the two together.
func InputNames() []string {
	seen := map[string]bool{}
	getenv := func(k string) string {
		if name, ok := strings.CutPrefix(k, "INPUT_"); ok {
			seen[strings.ToLower(name)] = true
		}
		return ""
	}
	_, _ = Parse(getenv, "/")
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

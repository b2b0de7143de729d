// Package config turns the action's inputs into one typed Config. Every
// input is read once here; nothing below main reads the environment. Parse
// checks every input and reports all problems at once, each naming the
// input, the bad value and what would be valid, so a user fixes a workflow
// in one round instead of one error per run.
package config

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/build"
	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/httpstatus"
	"github.com/bluegreen-action/bluegreen/internal/pull"
)

// Mode is what a run does.
type Mode string

// The modes a run can take.
const (
	ModeDeploy   Mode = "deploy"   // start the idle color, switch to it, stop the old one
	ModeRollback Mode = "rollback" // bring the previous color back
	ModeStatus   Mode = "status"   // report the live color only; touch nothing
	ModeStage    Mode = "stage"    // start the idle color and prove it healthy; no switch
	ModePromote  Mode = "promote"  // switch to the staged color, drain and stop the old one
	ModeAbort    Mode = "abort"    // remove the staged color; nginx untouched
	ModeHistory  Mode = "history"  // print the deploy history; touch nothing
	// ModeMaintenance makes nginx answer 503 with a page; no container is touched.
	ModeMaintenance Mode = "maintenance"
	// ModeLive puts back what served before mode maintenance.
	ModeLive Mode = "live"
)

// Modes lists every mode, in the order the docs give them.
var Modes = []Mode{ModeDeploy, ModeRollback, ModeStatus, ModeStage, ModePromote, ModeAbort, ModeHistory, ModeMaintenance, ModeLive}

// ReadOnly reports whether the mode changes nothing on the host.
func (m Mode) ReadOnly() bool { return m == ModeStatus || m == ModeHistory }

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
	// Roles are the services declared shared or singleton by the inputs.
	Roles    Roles
	Image    string // replaces the traffic service's image when set
	Pull     pull.Policy
	Build    build.Policy // when services that have build: are built on the host
	Registry Registry

	Health Health
	Nginx  Nginx

	DrainTimeout time.Duration
	// StopTimeout overrides each container's stop_grace_period; zero means
	// "use the service's own" (Docker's default of 10s when unset).
	StopTimeout  time.Duration
	LockTimeout  time.Duration
	KeepPrevious bool
	Observe      time.Duration

	// Canary is the switch in steps (canary-steps and its limits).
	Canary Canary
	// Maintenance is what mode maintenance serves.
	Maintenance Maintenance

	Operate Operate

	// Fleet lists the hosts to deploy to; none means this host.
	Fleet Fleet

	// Run identifies the workflow run, for the lock record and summary.
	Run RunInfo

	// Warnings are problems that do not stop the run but that the user
	// should read: an INPUT_* variable no input has (a misspelt input is
	// otherwise ignored in silence), an option that has no effect.
	Warnings []string
}

// Health is how the new color is proven healthy.
type Health struct {
	Path     string
	Accept   httpstatus.Set
	Retries  int
	Interval time.Duration
	// StartInterval is the probe interval until the first healthy answer
	// (health-start-interval); Retries × Interval stays the budget.
	StartInterval time.Duration
	Timeout       time.Duration
	StartupDelay  time.Duration
	// Scheme is "http" or "https" (health-scheme).
	Scheme string
	// Host is the Host header of every probe (health-host); empty sends
	// the address probed.
	Host string
	// Headers are sent with every probe (health-headers). Their values
	// are secrets: masked in the log and never printed.
	Headers http.Header
	// InsecureTLS accepts a self-signed certificate over https
	// (health-insecure-tls).
	InsecureTLS bool
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

package config

// The traffic inputs of issue 20: canary steps judged on nginx's own
// evidence, and maintenance mode.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Canary is how traffic moves to the new color: in steps of a share of
// requests, each held for Interval and judged on nginx's evidence, before
// the full switch. No Steps means the full switch at once.
type Canary struct {
	// Steps are the new color's shares of requests, in percent, strictly
	// ascending, each from 1 to 99 (canary-steps).
	Steps []int
	// Interval is how long each step is held while nginx records what the
	// two colors answer (canary-interval).
	Interval time.Duration
	// MaxErrorRate is the share of the new color's requests that may be
	// answered with 5xx, 0.01 for 1 % (canary-max-error-rate).
	MaxErrorRate float64
	// MaxLatencyRatio fails a step when the new color's p95 latency is
	// above this many times the old color's; 0 turns it off
	// (canary-max-latency-ratio).
	MaxLatencyRatio float64
	// FleetHosts is how many hosts of a fleet deploy first and are held
	// for Interval before the others go on (fleet-canary); 0 means none.
	FleetHosts int
}

// Enabled reports whether the switch goes in steps.
func (c Canary) Enabled() bool { return len(c.Steps) > 0 }

// Maintenance is what mode maintenance serves.
type Maintenance struct {
	// Page is the HTML page's path (maintenance-page, inside
	// working-directory); empty serves a plain-text default.
	Page string
}

// MaxMaintenancePage caps the maintenance page (nginx.MaxPageSize).
const MaxMaintenancePage = 1 << 20

func (p *parser) canary(cfg *Config) Canary {
	c := Canary{
		Steps:           p.canarySteps("canary-steps"),
		Interval:        p.duration("canary-interval", true),
		MaxErrorRate:    p.percent("canary-max-error-rate"),
		MaxLatencyRatio: p.ratio("canary-max-latency-ratio"),
		FleetHosts:      p.count("fleet-canary"),
	}
	if c.FleetHosts > 0 {
		switch {
		case !cfg.Fleet.Enabled():
			p.addf("fleet-canary %d is only read with hosts: list the hosts to deploy to, or leave fleet-canary at 0", c.FleetHosts)
		case c.FleetHosts >= len(cfg.Fleet.Hosts):
			p.addf("fleet-canary %d must be fewer than the %d hosts listed in hosts, so that some hosts wait for the judgement (for example 1)", c.FleetHosts, len(cfg.Fleet.Hosts))
		}
	}
	if c.Enabled() && cfg.Mode != ModeDeploy && cfg.Mode != ModePromote {
		p.warnf("canary-steps is read by mode: deploy and promote only; mode %s switches at once", cfg.Mode)
	}
	return c
}

// canarySteps reads "10,50": whole percentages from 1 to 99, ascending.
func (p *parser) canarySteps(name string) []int {
	v := p.str(name)
	if v == "" {
		return nil
	}
	var steps []int
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(strings.TrimSuffix(f, "%"))
		if err != nil || n < 1 || n > 99 {
			p.addf("%s %q: %q is not a whole percentage from 1 to 99 (for example 10,50; the full switch to 100 %% follows the last step)", name, v, f)
			return nil
		}
		if len(steps) > 0 && n <= steps[len(steps)-1] {
			p.addf("%s %q must rise step by step: %d follows %d (for example 10,50)", name, v, n, steps[len(steps)-1])
			return nil
		}
		steps = append(steps, n)
	}
	if len(steps) > 10 {
		p.addf("%s %q has %d steps: use at most 10", name, v, len(steps))
		return nil
	}
	return steps
}

// percent reads "1%", "0.5 %" or "0.01" (a fraction) into a fraction.
func (p *parser) percent(name string) float64 {
	v, def := p.str(name), declared(name).Default
	s := strings.TrimSpace(v)
	isPct := strings.HasSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if isPct {
		f /= 100
	}
	if err != nil || f < 0 || f > 1 || f != f {
		p.addf("%s %q is not a share from 0 %% to 100 %%: write a percentage such as 1%% or 0.5%%, or a fraction such as 0.01 (default %s)", name, v, def)
		return 0.01
	}
	return f
}

// ratio reads a factor of 1 or more, or 0 for off.
func (p *parser) ratio(name string) float64 {
	v := p.str(name)
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f != f || (f != 0 && f < 1) || f > 1000 {
		p.addf("%s %q is not a factor: give 0 to turn the latency check off, or a number from 1 to 1000 (1.5 fails a new color whose p95 latency is 50 %% above the old one's)", name, v)
		return 0
	}
	return f
}

// maintenance reads maintenance-page: a file inside working-directory.
func (p *parser) maintenance(cfg *Config) Maintenance {
	v := p.str("maintenance-page")
	if v == "" {
		return Maintenance{}
	}
	if cfg.Mode != ModeMaintenance {
		p.warnf("maintenance-page is read by mode: maintenance only; mode %s ignores it", cfg.Mode)
		return Maintenance{}
	}
	path := abs(cfg.WorkDir, v)
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		p.existingFile("maintenance-page", v, path)
		return Maintenance{Page: path}
	}
	root, rerr := filepath.EvalSymlinks(cfg.WorkDir)
	if rerr != nil {
		root = cfg.WorkDir
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		p.addf("maintenance-page %q is outside working-directory %q: keep the page in the repository (for example maintenance.html)", v, cfg.WorkDir)
		return Maintenance{}
	}
	st, err := os.Stat(real)
	switch {
	case err != nil:
		p.addf("maintenance-page %q cannot be read: %v", v, err)
	case !st.Mode().IsRegular():
		p.addf("maintenance-page %q is not a regular file", v)
	case st.Size() > MaxMaintenancePage:
		p.addf("maintenance-page %q is %d bytes: use at most %d (a page with its images inline should stay well under that)", v, st.Size(), MaxMaintenancePage)
	}
	return Maintenance{Page: real}
}

// ModeTraffic reports whether the mode only changes what nginx answers:
// maintenance and live touch no container.
func (m Mode) TrafficOnly() bool { return m == ModeMaintenance || m == ModeLive }

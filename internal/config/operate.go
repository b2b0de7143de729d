package config

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Operate is how an operator steers runs beyond a plain deploy: staged
// deploys and their promotion, the history and what a rollback returns to,
// and how many deploys' images are kept.
type Operate struct {
	// DeployID is the staged deploy promote or abort must find (input
	// deploy-id); empty accepts whatever is staged.
	DeployID string
	// RollbackTo is "previous" (the kept previous color) or a deploy id
	// from the history.
	RollbackTo string
	// HistoryLimit is how many runs the history keeps.
	HistoryLimit int
	// RetainImages is how many successful deploys' images are kept; older
	// images this action pulled or built are removed. Zero keeps all.
	RetainImages int
	// PreviewIncludePath, when set, is an include a staged color is served
	// through for people to try it before promotion.
	PreviewIncludePath string
	// PreviewTemplate is its template; empty means DefaultPreviewTemplate.
	PreviewTemplate string
}

// RollbackPrevious is the default of input to: the kept previous color.
const RollbackPrevious = "previous"

// DefaultPreviewTemplate points nginx's $preview_url at the staged color.
const DefaultPreviewTemplate = "set $preview_url {{.URL}};\n"

// deployIDRE is the form of the ids the deploy writes: UTC time and six
// hex digits (20261129T172155Z-3fa9c2).
var deployIDRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`)

// ValidDeployID reports whether s has the form of a deploy id.
func ValidDeployID(s string) bool { return deployIDRE.MatchString(s) }

func (p *parser) operate(cfg *Config) Operate {
	o := Operate{
		DeployID:           p.str("deploy-id"),
		RollbackTo:         p.str("to"),
		HistoryLimit:       p.positiveInt("history-limit"),
		RetainImages:       p.count("retain-images"),
		PreviewIncludePath: p.str("nginx-preview-include-path"),
		PreviewTemplate:    p.str("nginx-preview-include-template"),
	}
	if strings.EqualFold(o.RollbackTo, RollbackPrevious) {
		o.RollbackTo = RollbackPrevious
	}
	if o.DeployID != "" && !ValidDeployID(o.DeployID) {
		p.addf("deploy-id %q is not a deploy id: use the deploy-id output of the stage run (for example 20261129T172155Z-3fa9c2)", o.DeployID)
	}
	if o.RollbackTo != RollbackPrevious && !ValidDeployID(o.RollbackTo) {
		p.addf("to %q is not valid: use previous (the kept previous color) or a deploy id from mode: history (for example 20261129T172155Z-3fa9c2)", o.RollbackTo)
	}
	if cfg.Mode != ModeRollback && o.RollbackTo != RollbackPrevious {
		p.addf("to %q is only read by mode: rollback (mode is %s)", o.RollbackTo, cfg.Mode)
	}
	if o.DeployID != "" && cfg.Mode != ModePromote && cfg.Mode != ModeAbort {
		p.addf("deploy-id %q is only read by mode: promote and mode: abort (mode is %s)", o.DeployID, cfg.Mode)
	}
	if o.PreviewIncludePath != "" {
		if cfg.Nginx.Container != "" {
			p.addf("nginx-preview-include-path %q is not supported with nginx-container yet: serve the preview from a host nginx, or leave it empty and use the preview-url output", o.PreviewIncludePath)
		}
		o.PreviewIncludePath = abs(cfg.WorkDir, o.PreviewIncludePath)
		if o.PreviewIncludePath == cfg.Nginx.IncludePath {
			p.addf("nginx-preview-include-path %q is nginx-include-path: the preview needs an include of its own", o.PreviewIncludePath)
		}
	}
	return o
}

// count reads a whole number, zero allowed.
func (p *parser) count(name string) int {
	v := p.str(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		p.addf("%s %q is not a whole number of 0 or more (for example %s)", name, v, declared(name).Default)
		n, _ = strconv.Atoi(declared(name).Default)
	}
	return n
}

// startInterval reads health-start-interval: the probe interval until the
// first healthy answer, never longer than health-interval.
func (p *parser) startInterval(interval time.Duration) time.Duration {
	d := p.duration("health-start-interval", true)
	if interval > 0 && d > interval {
		return interval
	}
	return d
}

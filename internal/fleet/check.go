package fleet

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
)

// A host's result is the host's word. A host that was taken over can
// send any bytes back, and the runner turns the result into step outputs
// that a later step may paste into a shell (run: echo ${{
// steps.deploy.outputs.active-url }}). So the runner accepts a result
// only when every field it passes on has the form the field must have,
// and the fields it can compute itself from the inputs (a color's port
// and URL) are exactly what it computes.

// phaseKind is what a phase kind looks like (health, switch-back).
var phaseKind = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Check refuses a result that is not one of a run in mode with cfg's
// inputs: a color that is not blue or green, a port or URL that is not
// the one the inputs give that color, a deploy id that is not one, an
// image that is not an image reference, an output the deploy does not
// set, a phase kind that is not a word.
func (r *HostResult) Check(mode config.Mode, cfg *config.Config) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if r.Mode != mode {
		bad("mode %q is not the %s that ran", r.Mode, mode)
	}
	for name, c := range map[string]string{"previous": r.Previous, "target": r.Target, "active": r.Active} {
		if !validColor(c) {
			bad("%s color %q is not blue or green", name, c)
		}
	}
	if r.DeployID != "" && !config.ValidDeployID(r.DeployID) {
		bad("deploy id %q is not a deploy id", r.DeployID)
	}
	if r.Image != "" && !validImage(r.Image) {
		bad("image %q is not an image reference", r.Image)
	}
	for _, img := range r.Running {
		if !validImage(img) {
			bad("running image %q is not an image reference", img)
		}
	}
	if r.ElapsedMS < 0 {
		bad("elapsed time %d ms is negative", r.ElapsedMS)
	}
	for _, p := range r.Phases {
		if !phaseKind.MatchString(string(p.Kind)) || p.MS < 0 {
			bad("phase %q of kind %q took %d ms", p.Name, p.Kind, p.MS)
		}
	}
	if r.Failure != nil && r.Failure.Kind != "" && !phaseKind.MatchString(string(r.Failure.Kind)) {
		bad("failed phase kind %q is not a phase kind", r.Failure.Kind)
	}
	for name, v := range r.Outputs {
		if msg := checkOutput(name, v, r.Outputs, cfg); msg != "" {
			bad("output %s %q %s", name, v, msg)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// outputChecks are the outputs of a host's deploy the runner passes on,
// each with the check of its value: what is wrong with v, or "". An
// output the deploy sets that is not here (history, which is each host's
// own record, or an output added later) is not passed on from hosts.
var outputChecks = map[string]func(v string, all map[string]string, cfg *config.Config) string{
	"active-color":   checkColor,
	"previous-color": checkColor,
	"staged-color":   checkColor,
	"active-port": func(v string, all map[string]string, cfg *config.Config) string {
		if want := colorPort(all["active-color"], cfg); v != want {
			return fmt.Sprintf("is not the port of the active color %q (%q)", all["active-color"], want)
		}
		return ""
	},
	"active-url": func(v string, all map[string]string, cfg *config.Config) string {
		if want := colorURL(all["active-color"], cfg); v != want {
			return fmt.Sprintf("is not the URL of the active color %q (%q)", all["active-color"], want)
		}
		return ""
	},
	"preview-url": func(v string, all map[string]string, cfg *config.Config) string {
		if want := colorURL(all["staged-color"], cfg); v != want {
			return fmt.Sprintf("is not the URL of the staged color %q (%q)", all["staged-color"], want)
		}
		return ""
	},
	"image": func(v string, _ map[string]string, _ *config.Config) string {
		if !validImage(v) {
			return "is not an image reference"
		}
		return ""
	},
	"image-digest": func(v string, _ map[string]string, _ *config.Config) string {
		if !validImage(v) {
			return "is not an image digest or id"
		}
		return ""
	},
	"deploy-id": func(v string, _ map[string]string, _ *config.Config) string {
		if !config.ValidDeployID(v) {
			return "is not a deploy id"
		}
		return ""
	},
	"rolled-back": func(v string, _ map[string]string, _ *config.Config) string {
		if v != "true" && v != "false" {
			return "is not true or false"
		}
		return ""
	},
}

// checkOutput says what is wrong with the value v of output name, or "".
func checkOutput(name, v string, all map[string]string, cfg *config.Config) string {
	if chk, ok := outputChecks[name]; ok {
		if v == "" {
			return ""
		}
		return chk(v, all, cfg)
	}
	if slices.Contains(OutputNames(), name) {
		return "" // not passed on (Outcome.Outputs)
	}
	return "is not an output of bluegreen"
}

func checkColor(v string, _ map[string]string, _ *config.Config) string {
	if !validColor(v) {
		return "is not blue or green"
	}
	return ""
}

func validColor(c string) bool { return c == "" || c == "blue" || c == "green" }

// validImage reports whether s is an image reference: a name with a tag
// or digest, or an image id. Its grammar allows no space, quote, $ or
// any other character a shell would read.
func validImage(s string) bool {
	_, err := reference.ParseAnyReference(s)
	return err == nil && len(s) <= 512
}

// colorPort is the port the inputs give color c, as the deploy prints it.
func colorPort(c string, cfg *config.Config) string {
	col, err := color.Parse(c)
	if err != nil || cfg.Ports[col] == 0 {
		return ""
	}
	return strconv.Itoa(cfg.Ports[col])
}

// colorURL is the URL the deploy gives color c: its port on the upstream
// host.
func colorURL(c string, cfg *config.Config) string {
	port := colorPort(c, cfg)
	if port == "" {
		return ""
	}
	return "http://" + net.JoinHostPort(cfg.UpstreamHost, port)
}

// safeText keeps what a host said to a message passed on in hosts-result
// only in characters no shell reads as syntax: letters, digits, spaces
// and . , : / _ = + @ % # - ; anything else becomes _. The whole text is
// in the step's log.
func safeText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(" .,:/_=+@%#-", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 500 {
			b.WriteString("...")
			break
		}
	}
	return b.String()
}

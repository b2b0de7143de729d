package nginx

// The canary rendering: a share of requests to the new color, sticky per
// client, inside the include nginx already reads.
//
// Every request gets a bucket, 0 to 4095: the first three hex digits of
// $request_id (random per request), or the bucket a cookie set by an
// earlier answer of this canary carries. Buckets below share × 4096 go to
// the new color. A client without cookies (a load generator) therefore
// sees the share request by request, and a client that keeps cookies stays
// on one color; as the share grows, a client on the new color stays there.
// The cookie names the new deploy, so the next deploy's canary draws anew.

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// Canary is one step of a canary: Percent of requests to New, the rest to
// Old, which keeps serving as it did.
type Canary struct {
	Old, New TemplateData
	// Percent is the new color's share of requests, 0 to 100.
	Percent int
	// Name keeps this project's variables and cookie apart from another's
	// behind the same nginx; default Old.Project without its color suffix.
	Name string
	// Evidence, when set, makes nginx log every request for the judgement
	// of the step (see EvidenceLog).
	Evidence *EvidenceLog
	// Keep are directives a server-context include repeats so that the
	// server keeps what it inherits from http (CanaryKeep finds them); an
	// include in http context needs none.
	Keep []string
}

func (c Canary) name() string {
	if c.Name != "" {
		return varName(c.Name)
	}
	return varName(c.Old.Project)
}

// CookieName is the cookie that keeps a client on one color.
func (c Canary) CookieName() string { return "bluegreen_" + c.name() }

// Marker is what the canary include's marker line says.
func (c Canary) Marker() Marker {
	oc, _ := color.Parse(c.Old.Color)
	nc, _ := color.Parse(c.New.Color)
	return Marker{Color: oc, DeployID: c.Old.DeployID, Canary: nc, Percent: c.Percent, Next: c.New.DeployID}
}

func (c Canary) validate() error {
	var problems []string
	if c.Percent < 0 || c.Percent > 100 {
		problems = append(problems, fmt.Sprintf("Percent %d is not from 0 to 100", c.Percent))
	}
	for _, id := range []struct{ name, v string }{{"Old.DeployID", c.Old.DeployID}, {"New.DeployID", c.New.DeployID}} {
		if !idRE.MatchString(id.v) {
			problems = append(problems, fmt.Sprintf("%s %q has characters other than letters, digits, '.', '_' and '-'", id.name, id.v))
		}
	}
	if c.New.DeployID == "" {
		problems = append(problems, "New.DeployID is empty; the cookie names the new deploy")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidTemplateData, strings.Join(problems, "; "))
	}
	return nil
}

// RenderCanary renders the include for one canary step. In server context
// (the seed's `set $service_url`), the old color's include stays as it is
// and an `if` on the request's bucket sets the new color's values; every
// directive the template renders differently for the two colors must
// therefore be a `set`. In http context each upstream block the template
// defines gets both colors' servers and a `hash` on a key that maps pick
// from the bucket. Anything else fails with ErrCannotRender, naming the
// directive.
func (t *Template) RenderCanary(c Canary) ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	ob, nb, err := t.renderBodies(c.Old, c.New)
	if err != nil {
		return nil, err
	}
	var out strings.Builder
	out.WriteString(c.Marker().line())
	switch ob.layout {
	case LayoutServer:
		err = canaryServer(&out, c, ob, nb)
	default:
		err = canaryUpstream(&out, c, ob, nb)
	}
	if err != nil {
		return nil, err
	}
	if ob.hasMarker {
		loc, err := renderMarkerLocation(c.Marker(), c.Old.MarkerAllow)
		if err != nil {
			return nil, fmt.Errorf("failed to render the marker location: %w", err)
		}
		out.WriteString(loc)
	}
	if out.Len() > MaxIncludeSize {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTemplate, errIncludeTooBig)
	}
	return []byte(out.String()), nil
}

// cookieValue is the cookie's value for a bucket expression.
func (c Canary) cookieValue(bucket string) string {
	return c.CookieName() + "=" + c.New.DeployID + "." + bucket + "; Path=/; HttpOnly; SameSite=Lax"
}

// cookieRE matches a cookie this canary set and captures its bucket.
func (c Canary) cookieRE() string {
	return "^" + regexp.QuoteMeta(c.New.DeployID) + `\.([0-9a-f]{3})$`
}

// canaryServer writes the server-context canary: the bucket, the cookie,
// the old include unchanged, then the new color's sets for low buckets.
func canaryServer(out *strings.Builder, c Canary, ob, nb includeBody) error {
	sets, err := differingSets(ob, nb, c)
	if err != nil {
		return err
	}
	n := "$bluegreen_" + c.name()
	fmt.Fprintf(out, "set %s_cookie \"\";\n", n)
	fmt.Fprintf(out, "if ($request_id ~ \"^([0-9a-f]{%d})\") { set %s_bucket $1; set %s_cookie %s; }\n",
		hexDigits, n, n, quoteArg(c.cookieValue("$1")))
	fmt.Fprintf(out, "if ($cookie_%s ~ %s) { set %s_bucket $1; set %s_cookie \"\"; }\n",
		c.CookieName(), quoteArg(c.cookieRE()), n, n)
	fmt.Fprintf(out, "add_header Set-Cookie %s_cookie always;\n", n)
	for _, k := range c.Keep {
		out.WriteString(k + "\n")
	}
	out.WriteString(strings.TrimRight(ob.text, "\n") + "\n")
	if re := hexBelow(bucketsFor(c.Percent)); re != "" {
		fmt.Fprintf(out, "if (%s_bucket ~ %s) { %s }\n", n, quoteStr("^("+re+")$"), strings.Join(sets, " "))
	}
	if c.Evidence != nil {
		out.WriteString(c.Evidence.serverLines())
	}
	return nil
}

// differingSets compares the two colors' includes statement by statement
// and returns the new color's version of each one that differs, which must
// be a `set` at the top: only those can be chosen per request.
func differingSets(ob, nb includeBody, c Canary) ([]string, error) {
	if len(ob.stmts) != len(nb.stmts) {
		return nil, fmt.Errorf("%w: the template renders %d directives for %s and %d for %s",
			ErrCannotRender, len(ob.stmts), c.Old.Color, len(nb.stmts), c.New.Color)
	}
	var sets []string
	for i, o := range ob.stmts {
		n := nb.stmts[i]
		if o.raw(ob.text) == n.raw(nb.text) {
			continue
		}
		if o.name != "set" || n.name != "set" || len(n.args) != 2 || o.args[0] != n.args[0] {
			return nil, fmt.Errorf("%w: %q (line %d) differs between %s and %s and is not a `set`; in server context nginx can choose per request only between values of variables (set $service_url ...)",
				ErrCannotRender, firstLine(n.raw(nb.text)), n.line, c.Old.Color, c.New.Color)
		}
		sets = append(sets, n.raw(nb.text))
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("%w: the template renders the same directives for both colors", ErrCannotRender)
	}
	return sets, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

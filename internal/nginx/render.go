package nginx

// What the three renderings of the include share: the body of a rendered
// include without its marker, which layout it has, and the names that
// keep one project's variables and cookie apart from another's.

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// ErrCannotRender means the include template cannot be turned into a
// canary or a maintenance include: nginx could not choose per request
// between what it renders for the two colors.
var ErrCannotRender = errors.New("cannot render this include for a canary or maintenance")

// Layout is where nginx reads the include, which decides what a rendering
// may use: `if` and `set` in server context, map, split_clients and
// upstream blocks in http context.
type Layout int

const (
	// LayoutServer is the seed's include in a server block: set
	// $service_url, passed to proxy_pass $service_url.
	LayoutServer Layout = iota
	// LayoutUpstream is an include in http context defining upstream
	// blocks that a proxy_pass names.
	LayoutUpstream
)

func (l Layout) String() string {
	if l == LayoutUpstream {
		return "upstream (http context)"
	}
	return "server context"
}

// markerLinesRE matches whole marker lines.
var markerLinesRE = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*bluegreen:[^\n]*\n?`)

// includeBody is a rendered include without its marker line and marker
// location, which every rendering writes afresh.
type includeBody struct {
	text      string
	stmts     []stmt
	hasMarker bool // the include had a marker location
	layout    Layout
}

// bodyOf splits a rendered include into its body and statements.
func bodyOf(include []byte) (includeBody, error) {
	b := includeBody{hasMarker: markerLocationRE.Match(include)}
	text := markerLocationRE.ReplaceAll(include, nil)
	text = markerLinesRE.ReplaceAll(text, nil)
	b.text = string(bytes.TrimLeft(text, "\n"))
	stmts, err := parseStmts(b.text)
	if err != nil {
		return includeBody{}, fmt.Errorf("%w: the include does not parse: %w", ErrCannotRender, err)
	}
	b.stmts = stmts
	for _, s := range stmts {
		if s.name == "upstream" {
			b.layout = LayoutUpstream
		}
	}
	return b, nil
}

// renderBodies renders old and new and returns their bodies, which must
// have the same layout.
func (t *Template) renderBodies(old, next TemplateData) (ob, nb includeBody, err error) {
	if old.Color == next.Color {
		return ob, nb, fmt.Errorf("%w: old and new are both %s", ErrInvalidTemplateData, old.Color)
	}
	oldB, err := t.Render(old)
	if err != nil {
		return ob, nb, err
	}
	newB, err := t.Render(next)
	if err != nil {
		return ob, nb, err
	}
	if ob, err = bodyOf(oldB); err != nil {
		return ob, nb, err
	}
	if nb, err = bodyOf(newB); err != nil {
		return ob, nb, err
	}
	if ob.layout != nb.layout {
		return ob, nb, fmt.Errorf("%w: the template renders upstream blocks for one color only", ErrCannotRender)
	}
	return ob, nb, nil
}

// idRE is what a deploy id must look like to stand in a cookie value and
// a regular expression unquoted.
var idRE = regexp.MustCompile(`^[A-Za-z0-9._-]{0,64}$`)

// varName turns a project or upstream name into a piece of an nginx
// variable name ([A-Za-z0-9_]), so that two projects behind one nginx
// keep their variables, and their cookies, apart.
func varName(s string) string {
	for _, suffix := range []string{"-" + color.Blue.String(), "-" + color.Green.String()} {
		s = strings.TrimSuffix(s, suffix)
	}
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "app"
	}
	if b.Len() > 40 {
		return b.String()[:40]
	}
	return b.String()
}

// markerLocationTmpl is the marker location with any answer: a canary and a
// maintenance include answer their own marker, not the template's.
var markerLocationTmpl = template.Must(template.New("marker-location").Parse(
	strings.ReplaceAll(markerLocation, `color={{.Color}} deploy={{.DeployID}}`, `{{.Answer}}`)))

// renderMarkerLocation writes the marker location answering m to allow.
func renderMarkerLocation(m Marker, allow []string) (string, error) {
	if len(allow) == 0 {
		allow = DefaultMarkerAllow
	}
	var b strings.Builder
	err := markerLocationTmpl.Execute(&b, map[string]any{"MarkerAllow": allow, "Answer": m.Answer()})
	return b.String(), err
}

// hexDigits is how many hex digits of $request_id pick a request's bucket:
// 4096 buckets put a share within 0.02 points of what was asked.
const hexDigits = 3

// buckets is the number of buckets requests are spread over.
const buckets = 1 << (4 * hexDigits)

// bucketsFor is how many buckets a percent of requests take.
func bucketsFor(percent int) int { return (percent*buckets + 50) / 100 }

// hexBelow is a regular expression matching the hexDigits-digit lower-case
// hex numbers below n; "" when none is.
func hexBelow(n int) string {
	if n <= 0 {
		return ""
	}
	if n >= buckets {
		return fmt.Sprintf("[0-9a-f]{%d}", hexDigits)
	}
	digits := fmt.Sprintf("%0*x", hexDigits, n)
	var alts []string
	for k := 0; k < hexDigits; k++ {
		d := strings.IndexByte("0123456789abcdef", digits[k])
		if d == 0 {
			continue
		}
		alt := digits[:k] + hexClass(d)
		switch rest := hexDigits - k - 1; {
		case rest == 1:
			alt += "[0-9a-f]"
		case rest > 1:
			alt += fmt.Sprintf("[0-9a-f]{%d}", rest)
		}
		alts = append(alts, alt)
	}
	return strings.Join(alts, "|")
}

// hexClass matches one hex digit below d (1..15).
func hexClass(d int) string {
	switch {
	case d == 1:
		return "0"
	case d <= 10:
		return fmt.Sprintf("[0-%d]", d-1)
	case d == 11:
		return "[0-9a]"
	default:
		return fmt.Sprintf("[0-9a-%c]", "0123456789abcdef"[d-1])
	}
}

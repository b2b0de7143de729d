package nginx

// The marker line and location every include carries, from which the
// live color and deploy are read back.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// markerTemplate is the first line of every include this package writes. It
// is how ParseLive reads the live color back without guessing, whatever the
// rest of the user's template looks like.
const markerTemplate = "# bluegreen: color={{.Color}} deploy={{.DeployID}} (managed by bluegreen; edits are overwritten)\n"

// markerLocationRE finds the marker location, which carries the deploy id
// and so differs between any two renderings; comparisons leave it out.
var markerLocationRE = regexp.MustCompile(`(?m)^[ \t]*location = ` + regexp.QuoteMeta(MarkerPath) + ` \{[^\n]*\}[ \t]*\n?`)

// markerLocation answers MarkerPath in the server that includes the include,
// to the addresses in MarkerAllow only. nginx runs `return` in its rewrite
// phase, before allow and deny are looked at, so the answer comes from a
// named location that try_files reaches after the access check (no file
// has the name it tries). It stays on one line: comparisons of includes
// find it by markerLocationRE and leave it out.
const markerLocation = "location = " + MarkerPath + " { {{range .MarkerAllow}}allow {{.}}; {{end}}deny all; try_files " + MarkerPath + ".none @bluegreen_marker; } " +
	"location @bluegreen_marker { default_type text/plain; return 200 \"color={{.Color}} deploy={{.DeployID}}\\n\"; }\n"

// markerRE finds a marker line; deploy is optional so a hand-written marker
// with only a color is still read. A canary include adds
// "canary=<color>:<percent> next=<deploy>", a maintenance include
// "mode=maintenance"; older readers see only the color and deploy, which
// are the ones that hold the traffic.
var markerRE = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*bluegreen:[ \t]*color=([^ \t\r\n]*)(?:[ \t]+deploy=([^ \t\r\n]*))?` +
	`(?:[ \t]+canary=([^ \t\r\n:]*):([0-9]{1,3})(?:[ \t]+next=([^ \t\r\n]*))?)?(?:[ \t]+mode=(maintenance))?`)

// Marker is what the marker line of an include records.
type Marker struct {
	// Color is the color that holds the traffic: the one served by a full
	// switch, the old color of a canary, the color behind a maintenance page.
	Color color.Color
	// DeployID is Color's deploy.
	DeployID string
	// Canary is the new color of a canary include (color.None otherwise),
	// Percent the share of requests it gets, and Next its deploy.
	Canary  color.Color
	Percent int
	Next    string
	// Maintenance is true for a maintenance include: every request but the
	// marker and the health path is answered 503 by nginx itself.
	Maintenance bool
}

// Mode names what the include does: "full", "canary" or "maintenance".
func (m Marker) Mode() string {
	switch {
	case m.Maintenance:
		return "maintenance"
	case m.Canary != color.None:
		return "canary"
	}
	return "full"
}

// fields is the marker's text after "# bluegreen: " and, without the
// comment's tail, what the marker location answers.
func (m Marker) fields() string {
	s := "color=" + m.Color.String() + " deploy=" + m.DeployID
	if m.Canary != color.None {
		s += fmt.Sprintf(" canary=%s:%d next=%s", m.Canary, m.Percent, m.Next)
	}
	if m.Maintenance {
		s += " mode=maintenance"
	}
	return s
}

// Answer is the body (without its newline) that the marker location of an
// include with this marker answers, which the front-door check compares
// whole: "deploy=X" alone is also part of a canary's answer, so a
// substring match would take a canary step for the full switch.
func (m Marker) Answer() string { return m.fields() }

// String describes the marker for messages: "blue (deploy X)", "blue
// (deploy X) with 10 % of requests on green (deploy Y)", "maintenance in
// front of blue (deploy X)".
func (m Marker) String() string {
	s := fmt.Sprintf("%s (deploy %s)", m.Color, orDash(m.DeployID))
	switch {
	case m.Maintenance:
		return "the maintenance page in front of " + s
	case m.Canary != color.None:
		return fmt.Sprintf("%s with %d %% of requests on %s (deploy %s)", s, m.Percent, m.Canary, orDash(m.Next))
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// line is the marker line of an include.
func (m Marker) line() string {
	return "# bluegreen: " + m.fields() + " (managed by bluegreen; edits are overwritten)\n"
}

// ParseMarkerAnswer reads what a marker location answered. ok is false for
// anything else (a 403 page, an app's answer), so the caller can quote it
// only after sanitizing.
func ParseMarkerAnswer(body string) (Marker, bool) {
	body = strings.TrimRight(body, "\r\n")
	if strings.ContainsAny(body, "\r\n") || len(body) > 512 {
		return Marker{}, false
	}
	m, found, err := ReadMarker([]byte("# bluegreen: " + body + "\n"))
	if err != nil || !found || m.fields() != body {
		return Marker{}, false
	}
	return m, true
}

// ReadMarker returns the include's marker. found is false when there is
// none (an include written by the seed's deploy.sh or by hand); an error
// means markers that cannot be trusted: an unknown color or two markers
// that disagree.
func ReadMarker(include []byte) (m Marker, found bool, err error) {
	for _, sub := range markerRE.FindAllSubmatch(include, -1) {
		c, err := color.Parse(string(sub[1]))
		if err != nil {
			return Marker{}, false, fmt.Errorf("failed to read include marker: %w", err)
		}
		next := Marker{Color: c, DeployID: string(sub[2]), Next: string(sub[5]), Maintenance: len(sub[6]) > 0}
		if len(sub[3]) > 0 {
			cc, err := color.Parse(string(sub[3]))
			if err != nil || cc == c {
				return Marker{}, false, fmt.Errorf("failed to read include marker: canary color %q is not the other color than %s", sub[3], c)
			}
			next.Canary = cc
			next.Percent, _ = strconv.Atoi(string(sub[4]))
			if next.Percent > 100 {
				return Marker{}, false, fmt.Errorf("failed to read include marker: canary share %d %% is above 100", next.Percent)
			}
		}
		if found && next.Color != m.Color {
			return Marker{}, false, fmt.Errorf("failed to read include marker: %w: one says %s, another %s",
				ErrLiveMismatch, m.Color, next.Color)
		}
		if !found {
			m, found = next, true
		}
	}
	return m, found, nil
}

var markerTmpl = template.Must(template.New("marker").Parse(markerTemplate))

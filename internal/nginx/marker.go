package nginx

// The marker line and location every include carries, from which the
// live color and deploy are read back.

import (
	"fmt"
	"regexp"
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
// with only a color is still read.
var markerRE = regexp.MustCompile(`(?m)^[ \t]*#[ \t]*bluegreen:[ \t]*color=([^ \t\r\n]*)(?:[ \t]+deploy=([^ \t\r\n]*))?`)

// Marker is what the marker line of an include records.
type Marker struct {
	Color    color.Color
	DeployID string
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
		next := Marker{Color: c, DeployID: string(sub[2])}
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

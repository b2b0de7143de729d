// Package color names the two slots of a blue-green deploy.
package color

import (
	"fmt"
	"strings"
)

// Color is one of the two slots. The zero value is None, which stands for
// "no color is live yet" (a first deploy).
type Color int

const (
	// None means no color: nothing is deployed yet.
	None Color = iota
	// Blue is the first slot; a first deploy goes here.
	Blue
	// Green is the second slot.
	Green
)

// All lists the real colors in a fixed order.
var All = []Color{Blue, Green}

// String returns "blue", "green" or "" for None, the spelling used in
// outputs, project names and include markers.
func (c Color) String() string {
	switch c {
	case Blue:
		return "blue"
	case Green:
		return "green"
	default:
		return ""
	}
}

// Other returns the idle slot for a live one. A first deploy (None) goes to
// Blue, as the seed's deploy.sh does.
func (c Color) Other() Color {
	if c == Blue {
		return Green
	}
	return Blue
}

// Parse reads "blue" or "green" (any case, surrounding space ignored).
func Parse(s string) (Color, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "blue":
		return Blue, nil
	case "green":
		return Green, nil
	default:
		return None, fmt.Errorf("unknown color %q: valid colors are blue and green", s)
	}
}

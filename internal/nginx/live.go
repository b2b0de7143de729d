package nginx

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// ParseLive reads which color the include sends traffic to, and says how it
// decided, because the live color must come from what nginx serves rather
// than from container names. In order:
//
//  1. the marker line this package writes ("marker");
//  2. without a marker (an include written by the seed's deploy.sh or by
//     hand), the include's directives equal tmpl's rendering for exactly one
//     color, comments and white space ignored ("matches blue's rendering");
//  3. the directives mention exactly one color's host:port, container
//     name or container ip:port ("mentions 127.0.0.1:8081").
//
// An absent (nil) or empty include, or one that names neither color,
// returns color.None with the reason. A marker contradicted by the
// directives returns ErrLiveMismatch, and a marker-less include naming both
// colors returns ErrAmbiguousInclude, so that the deploy reports the
// disagreement instead of guessing. tmpl nil means DefaultTemplate.
func ParseLive(include []byte, blue, green TemplateData, tmpl *Template) (color.Color, string, error) {
	if len(bytes.TrimSpace(include)) == 0 {
		return color.None, "the include is absent or empty", nil
	}
	m, found, err := ReadMarker(include)
	if err != nil {
		return color.None, "", fmt.Errorf("failed to read the live color: %w", err)
	}
	if !found && strings.TrimSpace(stripComments(include)) == "" {
		return color.None, "the include has only comments", nil
	}
	ev, err := directivesColor(include, blue, green, tmpl)
	if err != nil {
		return color.None, "", fmt.Errorf("failed to read the live color: %w", err)
	}
	if found {
		if ev.color != color.None && ev.color != m.Color {
			return color.None, "", fmt.Errorf("failed to read the live color: %w: the marker says %s but the include %s",
				ErrLiveMismatch, m.Color, ev.how)
		}
		return m.Color, "marker", nil
	}
	if ev.ambiguous {
		return color.None, ev.how, fmt.Errorf("failed to read the live color: %w: it %s", ErrAmbiguousInclude, ev.how)
	}
	return ev.color, ev.how, nil
}

// evidence is what the include's directives say about the live color.
type evidence struct {
	color     color.Color
	how       string
	ambiguous bool
}

// directivesColor looks at the include without its marker: first by
// comparing with the renderings, then by looking for each color's address.
func directivesColor(include []byte, blue, green TemplateData, tmpl *Template) (evidence, error) {
	if tmpl == nil {
		tmpl = defaultTemplate
	}
	got := normalize(include)
	bb, err := tmpl.Render(blue)
	if err != nil {
		return evidence{}, fmt.Errorf("failed to render blue's include: %w", err)
	}
	gb, err := tmpl.Render(green)
	if err != nil {
		return evidence{}, fmt.Errorf("failed to render green's include: %w", err)
	}
	isBlue, isGreen := got == normalize(bb), got == normalize(gb)
	switch {
	case isBlue && !isGreen:
		return evidence{color: color.Blue, how: "matches blue's rendering"}, nil
	case isGreen && !isBlue:
		return evidence{color: color.Green, how: "matches green's rendering"}, nil
	}

	text := stripComments(include)
	bm, gm := mentions(text, blue), mentions(text, green)
	switch {
	case bm != "" && gm == "":
		return evidence{color: color.Blue, how: "mentions " + bm}, nil
	case gm != "" && bm == "":
		return evidence{color: color.Green, how: "mentions " + gm}, nil
	case bm != "" && gm != "":
		return evidence{ambiguous: true, how: fmt.Sprintf("mentions both blue's %s and green's %s", bm, gm)}, nil
	}
	return evidence{how: fmt.Sprintf("names neither blue (%s) nor green (%s)", describe(blue), describe(green))}, nil
}

var defaultTemplate = MustParseTemplate(DefaultTemplate)

// needles lists what identifies d's color in an include.
func needles(d TemplateData) []string {
	var n []string
	if d.Host != "" && d.Port != 0 {
		hp := net.JoinHostPort(d.Host, strconv.Itoa(d.Port))
		n = append(n, hp)
		if plain := d.Host + ":" + strconv.Itoa(d.Port); plain != hp {
			n = append(n, plain)
		}
	}
	if d.ContainerName != "" {
		n = append(n, d.ContainerName)
	}
	if d.ContainerIP != "" && d.ContainerPort != 0 {
		n = append(n, net.JoinHostPort(d.ContainerIP, strconv.Itoa(d.ContainerPort)))
	}
	return n
}

// describe names d's addresses for a message.
func describe(d TemplateData) string {
	n := needles(d)
	if len(n) == 0 {
		return "no address given"
	}
	return strings.Join(n, " or ")
}

// mentions returns the first of d's needles that appears in text as a whole
// word, so that 127.0.0.1:8081 does not match 127.0.0.1:80810 and app-blue-1
// does not match app-blue-10.
func mentions(text string, d TemplateData) string {
	for _, n := range needles(d) {
		if containsWord(text, n) {
			return n
		}
	}
	return ""
}

func containsWord(text, word string) bool {
	for from := 0; ; {
		i := strings.Index(text[from:], word)
		if i < 0 {
			return false
		}
		start := from + i
		end := start + len(word)
		if (start == 0 || !isNameByte(text[start-1])) && (end == len(text) || !isNameByte(text[end])) {
			return true
		}
		from = start + 1
	}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

package nginx

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"text/template"
	"unicode"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// TemplateData is what an include template can use. Field names are the
// template's vocabulary ({{.URL}}, {{.Host}}, ...), so they are part of the
// action's documented inputs and must not be renamed.
type TemplateData struct {
	Color         string // "blue" or "green"
	Host          string // where nginx reaches the color, e.g. "127.0.0.1"
	Port          int    // the color's published port, e.g. 8082
	URL           string // "http://<host>:<port>"; filled from Host and Port when empty
	DeployID      string // identifies the deploy in the marker line
	Project       string
	Service       string
	ContainerName string
	ContainerIP   string
	ContainerPort int
	// MarkerAllow are the client addresses (IPs or CIDR prefixes) the
	// marker location answers; every other client gets 403, so the live
	// color and deploy id are not shown to the world. Empty means
	// loopback only (DefaultMarkerAllow).
	MarkerAllow []string
	// Servers are every container of the traffic service, for {{range
	// .Servers}}: several when it runs replicas, each published on its
	// own host port. Left empty, it is the one server the fields above
	// describe.
	Servers []Server
}

// Server is one container of the color's traffic service; its fields mean
// what TemplateData's fields of the same names mean.
type Server struct {
	Host          string
	Port          int
	URL           string
	ContainerName string
	ContainerIP   string
	ContainerPort int
}

// DefaultMarkerAllow is who may read the marker location when the caller
// names no one: this host over loopback.
var DefaultMarkerAllow = []string{"127.0.0.1", "::1"}

// fieldNames lists the template's vocabulary for error messages.
var fieldNames = []string{
	".Color", ".Host", ".Port", ".URL", ".DeployID", ".Project", ".Service",
	".ContainerName", ".ContainerIP", ".ContainerPort", ".MarkerAllow",
	".Servers (each with .Host, .Port, .URL, .ContainerName, .ContainerIP, .ContainerPort)",
}

// values turns d into the map the template executes on. A map rather than the
// struct is what makes missingkey=error apply, so a misspelt field fails
// with the key's name instead of rendering "<no value>" into nginx's config.
func (d TemplateData) values() map[string]any {
	return map[string]any{
		"Color": d.Color, "Host": d.Host, "Port": d.Port, "URL": d.URL,
		"DeployID": d.DeployID, "Project": d.Project, "Service": d.Service,
		"ContainerName": d.ContainerName, "ContainerIP": d.ContainerIP,
		"ContainerPort": d.ContainerPort, "MarkerAllow": d.MarkerAllow,
		"Servers": serverValues(d.Servers),
	}
}

// serverValues turns servers into maps, so that missingkey=error applies
// inside {{range .Servers}} too.
func serverValues(servers []Server) []map[string]any {
	out := make([]map[string]any, len(servers))
	for i, s := range servers {
		out[i] = map[string]any{
			"Host": s.Host, "Port": s.Port, "URL": s.URL,
			"ContainerName": s.ContainerName, "ContainerIP": s.ContainerIP, "ContainerPort": s.ContainerPort,
		}
	}
	return out
}

// withURL fills URL from Host and Port when the caller left it empty,
// MarkerAllow with DefaultMarkerAllow, and Servers with the one server the
// fields describe when it is empty.
func (d TemplateData) withURL() TemplateData {
	d.URL = urlOf(d.URL, d.Host, d.Port)
	if len(d.MarkerAllow) == 0 {
		d.MarkerAllow = DefaultMarkerAllow
	}
	if len(d.Servers) == 0 {
		d.Servers = []Server{{Host: d.Host, Port: d.Port, URL: d.URL, ContainerName: d.ContainerName, ContainerIP: d.ContainerIP, ContainerPort: d.ContainerPort}}
		return d
	}
	servers := make([]Server, len(d.Servers))
	for i, s := range d.Servers {
		s.URL = urlOf(s.URL, s.Host, s.Port)
		servers[i] = s
	}
	d.Servers = servers
	return d
}

func urlOf(url, host string, port int) string {
	if url == "" && host != "" && port != 0 {
		return "http://" + net.JoinHostPort(host, strconv.Itoa(port))
	}
	return url
}

// validate rejects data that would make an include we cannot read back
// (an unknown color, a deploy id with spaces) or that would let a value
// escape its line and inject nginx directives (control characters).
func (d TemplateData) validate() error {
	var problems []string
	if c, err := color.Parse(d.Color); err != nil || c.String() != d.Color {
		problems = append(problems, fmt.Sprintf("Color %q is not one of blue, green", d.Color))
	}
	fields := []struct{ name, value string }{
		{"Color", d.Color}, {"Host", d.Host}, {"URL", d.URL}, {"DeployID", d.DeployID},
		{"Project", d.Project}, {"Service", d.Service},
		{"ContainerName", d.ContainerName}, {"ContainerIP", d.ContainerIP},
	}
	for i, s := range d.Servers {
		n := fmt.Sprintf("Servers[%d].", i)
		fields = append(fields, []struct{ name, value string }{
			{n + "Host", s.Host}, {n + "URL", s.URL}, {n + "ContainerName", s.ContainerName}, {n + "ContainerIP", s.ContainerIP},
		}...)
	}
	for _, f := range fields {
		if strings.ContainsFunc(f.value, unicode.IsControl) {
			problems = append(problems, fmt.Sprintf("%s %q contains a control character such as a newline", f.name, f.value))
		}
	}
	for _, a := range d.MarkerAllow {
		if _, err := netip.ParseAddr(a); err == nil && !strings.Contains(a, "%") {
			continue
		}
		if _, err := netip.ParsePrefix(a); err == nil {
			continue
		}
		problems = append(problems, fmt.Sprintf("MarkerAllow %q is not an IP address or CIDR prefix", a))
	}
	if strings.ContainsFunc(d.DeployID, unicode.IsSpace) {
		problems = append(problems, fmt.Sprintf("DeployID %q contains white space", d.DeployID))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidTemplateData, strings.Join(problems, "; "))
	}
	return nil
}

// DefaultTemplate is the seed's include: the marker line, the variable
// that the seed's server block passes to proxy_pass $service_url, and a
// marker location (MarkerPath) that answers with the color and deploy id,
// so that a deploy can confirm through the front door which include the
// serving workers have loaded.
const DefaultTemplate = markerTemplate + "set $service_url {{.URL}};\n" + markerLocation

// UpstreamTemplate returns a template for an include in http context that
// defines upstream name. Unlike proxy_pass $service_url, an upstream block
// keeps connections to the color alive and needs no resolver for host
// names; the location must set proxy_http_version 1.1 and clear the
// Connection header for the keepalive to be used. It has one server line
// per container of the traffic service, so a service with replicas is
// balanced across them.
func UpstreamTemplate(name string) string {
	return markerTemplate +
		"upstream " + name + " {\n" +
		"{{range .Servers}}    server {{.Host}}:{{.Port}};\n{{end}}" +
		"    keepalive 16;\n" +
		"}\n"
}

// Template is a parsed include template, checked by rendering it for both
// colors at parse time so that a typo fails before a deploy starts any
// container rather than halfway through a switch.
type Template struct {
	text string
	tmpl *template.Template
}

// Text returns the template's source.
func (t *Template) Text() string { return t.text }

// ParseTemplate parses an include template. The error says what is wrong
// once, in the template's own terms: the line of a syntax error, an
// unknown field together with the valid ones, a range the include cannot
// need, or a template that renders the same directives for both colors (it
// would never move traffic).
func ParseTemplate(text string) (*Template, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%w: it is empty; the default is %q", ErrInvalidTemplate, DefaultTemplate)
	}
	if len(text) > MaxIncludeSize {
		return nil, fmt.Errorf("%w: it is %d bytes; an include may be at most %d", ErrInvalidTemplate, len(text), MaxIncludeSize)
	}
	tmpl, err := template.New("include").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidTemplate, templateError(err))
	}
	for _, t := range tmpl.Templates() {
		if t.Tree == nil {
			continue
		}
		if err := checkRanges(t.Tree, t.Tree.Root); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidTemplate, err)
		}
	}
	t := &Template{text: text, tmpl: tmpl}
	blue, green := sampleData()
	bb, err := t.render(blue)
	if err != nil {
		return nil, err
	}
	gb, err := t.render(green)
	if err != nil {
		return nil, err
	}
	if normalize(bb) == normalize(gb) {
		return nil, fmt.Errorf("%w: apart from comments it renders the same for blue and green, "+
			"so a switch would not move traffic; use {{.URL}}, {{.Host}}:{{.Port}}, {{.ContainerName}} or {{.ContainerIP}}",
			ErrInvalidTemplate)
	}
	return t, nil
}

// MustParseTemplate is ParseTemplate for templates built into the program,
// such as DefaultTemplate, where an error is a bug.
func MustParseTemplate(text string) *Template {
	t, err := ParseTemplate(text)
	if err != nil {
		panic(err)
	}
	return t
}

// sampleData is what ParseTemplate renders to check a template: every field
// differs between the colors except ContainerPort, as in a real deploy
// where both colors run the same image.
func sampleData() (blue, green TemplateData) {
	blue = TemplateData{
		Color: "blue", Host: "127.0.0.1", Port: 8081, DeployID: "check",
		Project: "app", Service: "web", ContainerName: "app-blue-web-1",
		ContainerIP: "172.17.0.2", ContainerPort: 8080,
	}
	green = blue
	green.Color, green.Port, green.ContainerName, green.ContainerIP = "green", 8082, "app-green-web-1", "172.17.0.3"
	return blue.withURL(), green.withURL()
}

// Render executes the template for d. It always puts the marker line first
// when the template did not render one, so the live color can be read back
// from any include this package wrote; a marker naming another color than
// d.Color is an error.
func (t *Template) Render(d TemplateData) ([]byte, error) {
	return t.render(d)
}

func (t *Template) render(d TemplateData) ([]byte, error) {
	d = d.withURL()
	if err := d.validate(); err != nil {
		return nil, err
	}
	var buf cappedBuffer
	if err := t.tmpl.Execute(&buf, d.values()); err != nil {
		if errors.Is(err, errIncludeTooBig) {
			return nil, fmt.Errorf("%w: %w", ErrInvalidTemplate, errIncludeTooBig)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalidTemplate, templateError(err))
	}
	out := buf.Bytes()
	m, found, err := ReadMarker(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTemplate, err)
	}
	if found && m.Color.String() != d.Color {
		return nil, fmt.Errorf("%w: it renders a marker for %s while rendering %s", ErrInvalidTemplate, m.Color, d.Color)
	}
	if !found {
		var marker bytes.Buffer
		if err := markerTmpl.Execute(&marker, d); err != nil {
			return nil, fmt.Errorf("failed to render include marker: %w", err)
		}
		out = append(marker.Bytes(), out...)
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out, nil
}

package nginx

// The maintenance rendering: nginx itself answers 503 with Retry-After,
// serving a page, while the marker location and the health path go on as
// before. The include that served before travels inside the maintenance
// include, so "live" puts back exactly those bytes, even from a later run.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// DefaultRetryAfter is the Retry-After of a maintenance answer.
const DefaultRetryAfter = 60 * time.Second

// MaxPageSize caps the maintenance page.
const MaxPageSize = 1 << 20

// maintenancePath is the internal URI nginx answers with the page.
const maintenancePath = MarkerPath + "-maintenance.html"

// defaultMaintenanceText is the answer without a page of the user's.
const defaultMaintenanceText = "Service temporarily unavailable for maintenance. Please try again later.\\n"

// ErrNoPrevious means an include is not a maintenance include, or the
// copy of the previous include inside it is damaged.
var ErrNoPrevious = errors.New("no previous include to put back")

// healthPathRE is what a health path may be to stand in nginx's config
// unquoted and in a regular expression.
var healthPathRE = regexp.MustCompile(`^/[A-Za-z0-9._~/-]{0,200}$`)

// Maintenance is what the maintenance include needs.
type Maintenance struct {
	// Previous is the include that serves now, exactly as read from disk.
	Previous []byte
	// Color and DeployID are what serves behind the page, for the marker;
	// empty means what Previous's marker says.
	Color    color.Color
	DeployID string
	// PagePath is the HTML page as nginx names it (MaintenancePagePath);
	// "" answers a short plain-text default.
	PagePath string
	// RetryAfter is the Retry-After header; 0 means DefaultRetryAfter.
	RetryAfter time.Duration
	// HealthPath is passed on to the app as before; "" passes nothing.
	HealthPath string
	// MarkerAllow are the marker location's clients (TemplateData.MarkerAllow).
	MarkerAllow []string
	// Name keeps this project's variables apart (Canary.Name).
	Name string
	// SocketPath is where, in http context, the maintenance answers come
	// from (a unix socket nginx listens on); default
	// /run/bluegreen-<name>-maintenance.sock.
	SocketPath string
}

// MaintenancePagePath is where the page is kept: beside the include, in a
// directory nginx already reads, under a name no *.conf pattern matches.
func MaintenancePagePath(includePath string) string { return includePath + ".maintenance.html" }

// WritePage puts the maintenance page where the maintenance include serves
// it from (MaintenancePagePath), atomically, readable by nginx's workers.
// Write it before switching to the maintenance include.
func WritePage(path string, page []byte) error {
	if len(page) > MaxPageSize {
		return fmt.Errorf("failed to write maintenance page %s: it is %d bytes; at most %d", path, len(page), MaxPageSize)
	}
	if err := writeFileAtomic(path, page, nil); err != nil {
		return fmt.Errorf("failed to write maintenance page %s: %w", path, err)
	}
	return nil
}

// RenderMaintenance renders the maintenance include.
func RenderMaintenance(m Maintenance) ([]byte, error) {
	pm, found, err := ReadMarker(m.Previous)
	if err != nil {
		return nil, err
	}
	if found && (pm.Maintenance || pm.Canary != color.None) {
		return nil, fmt.Errorf("%w: the include serves %s; put it back to a full switch first", ErrCannotRender, pm)
	}
	mk := Marker{Color: m.Color, DeployID: m.DeployID, Maintenance: true}
	if mk.Color == color.None {
		mk.Color, mk.DeployID = pm.Color, pm.DeployID
	}
	if mk.Color == color.None {
		return nil, fmt.Errorf("%w: name the color that serves (Color): the previous include has no marker", ErrInvalidTemplateData)
	}
	if !idRE.MatchString(mk.DeployID) {
		return nil, fmt.Errorf("%w: DeployID %q has characters other than letters, digits, '.', '_' and '-'", ErrInvalidTemplateData, mk.DeployID)
	}
	if m.HealthPath != "" && !healthPathRE.MatchString(m.HealthPath) {
		return nil, fmt.Errorf("%w: HealthPath %q is not a path of letters, digits and . _ ~ / -", ErrInvalidTemplateData, m.HealthPath)
	}
	if strings.ContainsAny(m.PagePath, " \t\r\n;{}\"'\\$#") || (m.PagePath != "" && !strings.HasPrefix(m.PagePath, "/")) {
		return nil, fmt.Errorf("%w: PagePath %q must be absolute, without spaces, quotes or nginx syntax", ErrInvalidTemplateData, m.PagePath)
	}
	retry := m.RetryAfter
	if retry <= 0 {
		retry = DefaultRetryAfter
	}
	b, err := bodyOf(m.Previous)
	if err != nil {
		return nil, err
	}
	n := "bluegreen_" + varName(m.Name)
	var out strings.Builder
	out.WriteString(mk.line())
	out.WriteString(previousLines(m.Previous))
	answer := pageLocation(maintenancePath, m.PagePath, int(retry.Seconds()))
	switch b.layout {
	case LayoutServer:
		out.WriteString(strings.TrimRight(b.text, "\n") + "\n")
		fmt.Fprintf(&out, "set $%s_maint 1;\n", n)
		fmt.Fprintf(&out, "if ($uri ~ %s) { set $%s_maint \"\"; }\n", quoteStr("^"+regexp.QuoteMeta(MarkerPath)+`(-maintenance\.html)?$`), n)
		if m.HealthPath != "" {
			fmt.Fprintf(&out, "if ($uri ~ %s) { set $%s_maint \"\"; }\n", quoteStr("^"+regexp.QuoteMeta(m.HealthPath)+"$"), n)
		}
		fmt.Fprintf(&out, "error_page 503 %s;\nif ($%s_maint) { return 503; }\n%s", maintenancePath, n, answer)
	default:
		if err := maintenanceUpstream(&out, m, b, n, answer); err != nil {
			return nil, err
		}
	}
	if b.hasMarker {
		loc, err := renderMarkerLocation(mk, m.MarkerAllow)
		if err != nil {
			return nil, fmt.Errorf("failed to render the marker location: %w", err)
		}
		out.WriteString(loc)
	}
	return []byte(out.String()), nil
}

// pageLocation answers the internal maintenance URI: the page, or the
// default text, always 503 and with Retry-After.
func pageLocation(uri, page string, retry int) string {
	head := fmt.Sprintf("location = %s { internal; add_header Retry-After %d always; add_header Cache-Control no-store always; ", uri, retry)
	if page == "" {
		return head + fmt.Sprintf("default_type text/plain; return 503 \"%s\"; }\n", defaultMaintenanceText)
	}
	dir, file := page[:strings.LastIndex(page, "/")+1], page[strings.LastIndex(page, "/"):]
	return head + fmt.Sprintf("types { } default_type \"text/html; charset=utf-8\"; root %s; try_files %s =503; }\n", dir, file)
}

// maintenanceUpstream writes the http-context maintenance include: each
// upstream the previous include defined now sends to a small server of
// the include's own on a unix socket, which answers 503 and passes the
// health path on to the old servers, kept under another upstream name.
func maintenanceUpstream(out *strings.Builder, m Maintenance, b includeBody, n, answer string) error {
	sock := m.SocketPath
	if sock == "" {
		sock = "/run/" + strings.ReplaceAll(n, "_", "-") + "-maintenance.sock"
	}
	if strings.ContainsAny(sock, " \t\r\n;{}\"'\\$#") || !strings.HasPrefix(sock, "/") {
		return fmt.Errorf("%w: SocketPath %q must be absolute, without spaces, quotes or nginx syntax", ErrInvalidTemplateData, sock)
	}
	live := ""
	for _, s := range b.stmts {
		if s.name != "upstream" || len(s.args) != 1 {
			out.WriteString(s.raw(b.text) + "\n")
			continue
		}
		renamed := n + "_live_" + varName(s.args[0])
		if live == "" {
			live = renamed
		}
		raw := b.text[s.start:s.argSpans[0][0]] + renamed + b.text[s.argSpans[0][1]:s.end]
		fmt.Fprintf(out, "%s\nupstream %s { server unix:%s; }\n", raw, s.args[0], sock)
	}
	fmt.Fprintf(out, "server {\n    listen unix:%s;\n    access_log off;\n    error_page 503 %s;\n    location / { return 503; }\n", sock, maintenancePath)
	if m.HealthPath != "" {
		fmt.Fprintf(out, "    location = %s { proxy_pass http://%s; proxy_set_header Host $http_host; }\n", m.HealthPath, live)
	}
	fmt.Fprintf(out, "    %s}\n", answer)
	return nil
}

// previousTag starts the comment lines that carry the previous include.
const previousTag = "# bluegreen-previous: "

// previousLines writes prev as base64 comment lines: nginx ignores them,
// and they give back prev byte for byte.
func previousLines(prev []byte) string {
	enc := base64.StdEncoding.EncodeToString(prev)
	var b strings.Builder
	for len(enc) > 0 {
		n := min(len(enc), 96)
		b.WriteString(previousTag + enc[:n] + "\n")
		enc = enc[n:]
	}
	if len(prev) == 0 {
		b.WriteString(previousTag + "\n")
	}
	fmt.Fprintf(&b, "# bluegreen-previous-size: %d\n", len(prev))
	return b.String()
}

// PreviousInclude returns the include that served before a maintenance
// include, exactly as it was, for mode live.
func PreviousInclude(maint []byte) ([]byte, error) {
	m, found, err := ReadMarker(maint)
	if err != nil {
		return nil, err
	}
	if !found || !m.Maintenance {
		return nil, fmt.Errorf("%w: the include is not a maintenance include", ErrNoPrevious)
	}
	var enc strings.Builder
	size := -1
	for _, line := range bytes.Split(maint, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(previousTag)); ok {
			enc.Write(rest)
		}
		if rest, ok := bytes.CutPrefix(line, []byte("# bluegreen-previous-size: ")); ok {
			size, _ = strconv.Atoi(string(rest))
		}
	}
	prev, err := base64.StdEncoding.DecodeString(enc.String())
	if err != nil || len(prev) != size {
		return nil, fmt.Errorf("%w: the copy inside the maintenance include is damaged", ErrNoPrevious)
	}
	return prev, nil
}

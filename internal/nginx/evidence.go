package nginx

// Evidence from nginx itself: an access log line per request, in a format
// of nginx's own numbers (time, status, request time, the upstream address
// that answered), never a value the client chose (request line, user
// agent, headers), so the log cannot carry an injected command or a fake
// line's fields.
//
// log_format is allowed only in http context. An include in http context
// (the upstream layout) defines its own format. The seed's include sits in
// a server block, so the format lives in a small file of the action's own
// that nginx reads in http context, through a file pattern nginx.conf
// already includes there (Debian's and nginx.org's packages include
// /etc/nginx/conf.d/*.conf inside http); EvidenceFormatPath finds it in
// nginx -T. The file only defines a format, which changes nothing until an
// include names it, so it can stay.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EvidenceFormatName is the log_format that the action's own http-level
// file defines and a server-context canary include logs with.
const EvidenceFormatName = "bluegreen_evidence"

// evidenceFormat is one request: the "bg1" version tag, $msec, $status,
// $request_time, and the upstream address and status that nginx tried
// (comma- or colon-separated when it tried several).
const evidenceFormat = `bg1 $msec $status $request_time "$upstream_addr" "$upstream_status"`

// ErrNoHTTPInclude means nginx's config includes no file pattern in http
// context, so there is nowhere to define the evidence's log format.
var ErrNoHTTPInclude = errors.New("nginx's config includes no file pattern in http context")

// EvidenceLog is where a canary include makes nginx log each request.
type EvidenceLog struct {
	// Path is the log file, as nginx names it (absolute). It should not
	// end in .log, so that logrotate's nginx pattern does not rotate it
	// in the middle of a step.
	Path string
}

// serverLines are the server-context access_log lines.
func (e *EvidenceLog) serverLines() string {
	var b strings.Builder
	fmt.Fprintf(&b, "access_log %s %s;\n", quoteArg(e.Path), EvidenceFormatName)
	return b.String()
}

// httpLines define a format and log, at http level, only the requests
// proxied to the include's upstreams (proxied matches $proxy_host).
func (e *EvidenceLog) httpLines(n, proxied string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "log_format %s_evidence '%s';\n", n, evidenceFormat)
	fmt.Fprintf(&b, "map $proxy_host $%s_log { %s 1; default 0; }\n", n, quoteStr("~"+proxied))
	fmt.Fprintf(&b, "access_log %s %s_evidence if=$%s_log;\n", quoteArg(e.Path), n, n)
	// access_log lines at one level all apply, so the http block's own
	// stay in force beside this one.
	return b.String()
}

// EvidenceFormatFile is the content of the action's http-level file that
// defines EvidenceFormatName.
func EvidenceFormatFile() []byte {
	return []byte("# bluegreen: the log format of its canary evidence (managed by bluegreen; unused outside a canary)\n" +
		"log_format " + EvidenceFormatName + " '" + evidenceFormat + "';\n")
}

// evidenceFileBase is the name the action gives its http-level file.
const evidenceFileBase = "bluegreen-evidence"

// EvidenceFormatPath finds where to write EvidenceFormatFile: a file that
// a pattern nginx includes in http context matches (conf.d/*.conf gives
// conf.d/bluegreen-evidence.conf). The dump is nginx -T's output.
func EvidenceFormatPath(dump string) (string, error) {
	files := splitDump(dump)
	if len(files) == 0 {
		return "", fmt.Errorf("%w: nginx -T printed no configuration file", ErrNoHTTPInclude)
	}
	sites := includeSites(files)
	for _, s := range sites {
		if !strings.ContainsAny(s.arg, "*?[") {
			continue
		}
		inHTTP := false
		for _, parent := range chainsOf(sites, files[0].path, s.file, map[string]bool{}) {
			if strings.TrimSpace(parent+" "+strings.Join(s.blocks, " ")) == "http" {
				inHTTP = true
			}
		}
		if !inHTTP {
			continue
		}
		dir, pattern := filepath.Split(s.arg)
		if strings.ContainsAny(dir, "*?[") {
			continue
		}
		for _, name := range []string{evidenceFileBase + ".conf", evidenceFileBase, strings.Replace(pattern, "*", evidenceFileBase, 1)} {
			if ok, err := filepath.Match(pattern, name); err == nil && ok {
				return filepath.Join(dir, name), nil
			}
		}
	}
	return "", fmt.Errorf("%w (such as include /etc/nginx/conf.d/*.conf; inside http { }), so the action has nowhere to define the log format of the canary's evidence; add one", ErrNoHTTPInclude)
}

// EnsureEvidenceFormat writes EvidenceFormatFile at EvidenceFormatPath(dump)
// unless it is there already, atomically, and returns its path. Write it
// before the first canary include that names the format; it can stay.
// hostPath maps a path as nginx names it to this process's view (the
// identity for nginx on the host; Container.HostPath for one in a
// container); nil is the identity.
func EnsureEvidenceFormat(dump string, hostPath func(string) (string, error)) (string, error) {
	path, err := EvidenceFormatPath(dump)
	if err != nil {
		return "", err
	}
	local := path
	if hostPath != nil {
		if local, err = hostPath(path); err != nil {
			return "", fmt.Errorf("failed to find %s on this host: %w", path, err)
		}
	}
	want := EvidenceFormatFile()
	if have, err := os.ReadFile(local); err == nil && bytes.Equal(have, want) {
		return path, nil
	}
	if err := writeFileAtomic(local, want, nil); err != nil {
		return "", fmt.Errorf("failed to write the evidence log format %s: %w", local, err)
	}
	return path, nil
}

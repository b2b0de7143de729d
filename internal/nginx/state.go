package nginx

// What nginx serves, checked: after a failed switch the message must say
// what the include holds (read back) and what nginx answers (asked through
// the front door, and whether a master runs), never what the deploy
// assumes.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// checkRunning returns ErrNotRunning when no nginx master that the
// commands address runs.
func (s *Switcher) checkRunning(ctx context.Context) error {
	running, observed, why := s.masterRunning(ctx)
	if !observed {
		s.warnf("could not check that nginx runs: %s", why)
		return nil
	}
	if running {
		return nil
	}
	return fmt.Errorf("%w: %s, so nothing would load a new include and a reload would fail; "+
		"start nginx (for example systemctl start nginx) and run the deploy again; nothing was changed", ErrNotRunning, why)
}

// masterRunning looks for the master the commands address: one started
// with the same config, else the one the config's pid file names, else,
// when neither can be told (a wrapper script), any master. why says what
// was found, or not.
func (s *Switcher) masterRunning(ctx context.Context) (running, observed bool, why string) {
	procfs := s.procfs()
	masters, err := scanNginx(procfs)
	if err != nil {
		return false, false, err.Error()
	}
	if s.Owns != nil {
		for _, m := range masters {
			if s.Owns(m.PID) {
				return true, true, fmt.Sprintf("nginx master %d runs", m.PID)
			}
		}
		return false, true, "no nginx master process runs in the nginx container"
	}
	key, ok := nginxIdentity(s.ReloadCmd)
	if ok {
		for _, m := range masters {
			if masterIdentity(m.Cmdline) == key {
				return true, true, fmt.Sprintf("nginx master %d runs", m.PID)
			}
		}
	}
	if pidPath, known := s.pidPath(ctx); known {
		pid := readPID(pidPath)
		for _, m := range masters {
			if pid > 0 && m.PID == pid {
				return true, true, fmt.Sprintf("nginx master %d (from %s) runs", m.PID, pidPath)
			}
		}
		return false, true, fmt.Sprintf("no nginx master process is visible in %s, and %s names none that runs", procfs, pidPath)
	}
	if len(masters) > 0 {
		return true, true, fmt.Sprintf("%d nginx master(s) run", len(masters))
	}
	return false, true, "no nginx master process is visible in " + procfs
}

// pidPath is the pid file the config names (nginx -T), else nginx's
// compiled-in one (nginx -V); known is false when neither can be read.
func (s *Switcher) pidPath(ctx context.Context) (string, bool) {
	if dump, ok := dumpCommand(s.TestCmd); ok {
		if res, err := s.run(ctx, dump); err == nil {
			if files := splitDump(res.Stdout); len(files) > 0 {
				for _, d := range parseDirectives(files[0].text) {
					if d.name == "pid" && len(d.blocks) == 0 && len(d.args) == 1 && filepath.IsAbs(d.args[0]) {
						return d.args[0], true
					}
				}
			}
		}
	}
	for i, a := range s.TestCmd {
		if b := filepath.Base(a); b == "nginx" || strings.HasPrefix(b, "nginx-") {
			res, err := s.run(ctx, append(append([]string(nil), s.TestCmd[:i+1]...), "-V"))
			if err != nil {
				return "", false
			}
			if m := pidPathRE.FindStringSubmatch(res.Stdout + res.Stderr); m != nil {
				return m[1], true
			}
			return "", false
		}
	}
	return "", false
}

var pidPathRE = regexp.MustCompile(`--pid-path=(/\S+)`)

// readPID reads a pid file; 0 when it is missing or not a number.
func readPID(path string) int {
	b, err := readCapped(path, 64)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(b))
	if err != nil {
		return 0
	}
	return pid
}

// Serving is what nginx serves, as checked.
type Serving struct {
	// IncludeExists, Marker and Marked are the include read back;
	// ReadErr is set when it could not be read.
	IncludeExists bool
	Marker        Marker
	Marked        bool
	ReadErr       error
	// Running is whether a master the commands address runs; Observed is
	// false when the process table could not be read.
	Running  bool
	Observed bool
	// Asked is the marker URL asked ("" when there was no front door to
	// ask); Answer is what it answered when that was a marker, and
	// Answered says so; Other describes any other answer, sanitized.
	Asked    string
	Answer   Marker
	Answered bool
	Other    string
}

// String says what was checked, for a message after a failed switch.
func (v Serving) String() string {
	var parts []string
	switch {
	case v.ReadErr != nil:
		parts = append(parts, "the include could not be read back: "+v.ReadErr.Error())
	case !v.IncludeExists:
		parts = append(parts, "there is no include")
	case v.Marked:
		parts = append(parts, "the include holds "+v.Marker.String())
	default:
		parts = append(parts, "the include has no bluegreen marker")
	}
	switch {
	case !v.Observed:
		parts = append(parts, "whether nginx runs could not be seen")
	case !v.Running:
		parts = append(parts, "nginx is not running")
	case v.Answered:
		parts = append(parts, fmt.Sprintf("nginx answers %s at %s", v.Answer, v.Asked))
	case v.Asked != "":
		parts = append(parts, fmt.Sprintf("nginx runs, and %s answered %s", v.Asked, v.Other))
	default:
		parts = append(parts, "nginx runs")
	}
	return strings.Join(parts, "; ")
}

// CheckServing reads the include back, looks for the master and asks the
// front door's marker location (CheckAt, when set).
func (s *Switcher) CheckServing(ctx context.Context) Serving {
	var v Serving
	data, exists, err := s.Read()
	v.IncludeExists, v.ReadErr = exists, err
	if err == nil && exists {
		m, found, merr := ReadMarker(data)
		v.Marker, v.Marked = m, found && merr == nil
	}
	v.Running, v.Observed, _ = s.masterRunning(ctx)
	if s.CheckAt.URL != "" && (v.Running || !v.Observed) {
		v.Asked = strings.TrimRight(s.CheckAt.URL, "/") + MarkerPath
		v.Answer, v.Other, v.Answered = AskMarker(ctx, s.CheckAt)
	}
	return v
}

// markerClient asks on a fresh connection each time, without proxies or
// redirects: the answer must come from nginx's serving workers.
var markerClient = &http.Client{
	Timeout:       2 * time.Second,
	Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// AskMarker asks fd's marker location once. ok is true when it answered
// a marker; otherwise other describes the answer (status and a sanitized
// start of the body, or the error), never quoting more than 80 characters.
func AskMarker(ctx context.Context, fd FrontDoor) (m Marker, other string, ok bool) {
	url := strings.TrimRight(fd.URL, "/") + MarkerPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Marker{}, sanitizeLine(err.Error()), false
	}
	if fd.Host != "" {
		req.Host = fd.Host
	}
	resp, err := markerClient.Do(req)
	if err != nil {
		return Marker{}, sanitizeLine(err.Error()), false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode == http.StatusOK {
		if m, ok := ParseMarkerAnswer(string(body)); ok {
			return m, "", true
		}
	}
	snippet := sanitizeLine(string(body))
	if len(snippet) > 80 {
		snippet = snippet[:80] + "…"
	}
	return Marker{}, fmt.Sprintf("HTTP %d %q", resp.StatusCode, snippet), false
}

// ErrMarkerNotConfirmed means the front door did not answer the expected
// marker in time.
var ErrMarkerNotConfirmed = errors.New("the front door did not answer the new include's marker")

// ConfirmMarker asks fd's marker location on fresh connections until agree
// answers in a row equal want whole (a canary's answer contains the full
// switch's "deploy=X", so a substring would confirm the wrong step), at
// most timeout. Old nginx workers accept connections for a moment after a
// reload, which is why one answer is not enough.
func ConfirmMarker(ctx context.Context, fd FrontDoor, want Marker, agree int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	inRow, asked, last := 0, 0, ""
	for {
		m, other, ok := AskMarker(ctx, fd)
		asked++
		switch {
		case ok && m == want:
			inRow++
			if inRow >= agree {
				return nil
			}
			continue
		case ok:
			inRow, last = 0, m.Answer()
		default:
			inRow, last = 0, other
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s did not answer %q %d times in a row within %s (%d asked; last answer: %s)",
				ErrMarkerNotConfirmed, strings.TrimRight(fd.URL, "/")+MarkerPath, want.Answer(), agree, timeout, asked, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrMarkerNotConfirmed, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

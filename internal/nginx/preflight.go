package nginx

// Preflight: before a deploy touches anything, nginx must be running and
// its config must pass nginx -t as it is. A config broken by someone
// else's file (another server block's missing certificate, another
// project's include) would fail the switch anyway, after the new color was
// started; stopping first, with nginx's own words and the file to fix, is
// cheaper and says the truth.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

var (
	// ErrNotRunning means no nginx master process runs: nothing would
	// load the include, and a reload would fail.
	ErrNotRunning = errors.New("nginx is not running")
	// ErrConfigBroken means nginx -t fails on the config as it is, before
	// the deploy changed anything.
	ErrConfigBroken = errors.New("nginx's config already fails nginx -t")
)

// ConfigError is nginx -t failing before anything was changed.
type ConfigError struct {
	// Lines are nginx's own messages, control characters removed and
	// each cut at 300 characters: config files are data, not trusted.
	Lines []string
	// File and Line are where the error is, when nginx names the place
	// ("in FILE:LINE") or the config names the file nginx could not load;
	// Line is 0 when unknown.
	File string
	Line int
	// Ours is true when File is the include this deploy writes.
	Ours bool
}

func (e *ConfigError) Error() string {
	said := strings.Join(e.Lines, " | ")
	where := ""
	if e.File != "" {
		where = " in " + e.File
		if e.Line > 0 {
			where += ":" + strconv.Itoa(e.Line)
		}
	}
	switch {
	case e.Ours:
		return fmt.Sprintf("%s%s, the include this deploy writes, before anything was changed: %s; fix the include (or remove it) and run the deploy again", ErrConfigBroken, where, said)
	case e.File != "":
		return fmt.Sprintf("%s%s, a file this deploy does not manage, before anything was changed: %s; "+
			"fix or remove it and run the deploy again (until then every reload of nginx fails the same way, so no deploy can switch)", ErrConfigBroken, where, said)
	}
	return fmt.Sprintf("%s before anything was changed: %s; fix nginx's config and run the deploy again", ErrConfigBroken, said)
}

func (e *ConfigError) Unwrap() error { return ErrConfigBroken }

// Preflight checks, before anything is touched, that an nginx master runs
// and that the config passes nginx -t as it is. It returns an error
// wrapping ErrNotRunning, a *ConfigError (ErrConfigBroken), or both
// joined; the deploy stops on either (exit 2).
func (s *Switcher) Preflight(ctx context.Context) error {
	if err := s.validate(); err != nil {
		return err
	}
	var errs []error
	// nginx -T tests the config as -t does, and prints it: one run serves
	// ShutdownTimeoutSet too, on the deploy's critical path.
	cmd, dump := dumpCommand(s.TestCmd)
	if !dump {
		cmd = s.TestCmd
	}
	res, err := s.run(ctx, cmd)
	var ee *execx.Error
	if dump && err != nil && (!errors.As(err, &ee) || ee.ExitCode < 0) {
		// -T could not run at all (a wrapper that knows only -t): -t.
		dump = false
		res, err = s.run(ctx, s.TestCmd)
	}
	if err != nil {
		errs = append(errs, s.configError(err))
	} else if dump {
		s.dumped = &res.Stdout
	}
	if err := s.checkRunning(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// configError reads nginx -t's failure.
func (s *Switcher) configError(err error) error {
	var ee *execx.Error
	if !errors.As(err, &ee) || ee.ExitCode < 0 {
		return fmt.Errorf("failed to run nginx -t: %w", err)
	}
	ce := &ConfigError{}
	main := ""
	for _, l := range strings.Split(ee.Output, "\n") {
		if m := testFailedRE.FindStringSubmatch(l); m != nil {
			main = m[1]
			continue
		}
		if l = sanitizeLine(l); l != "" && len(ce.Lines) < 10 {
			ce.Lines = append(ce.Lines, l)
		}
	}
	for _, l := range ce.Lines {
		if m := inFileRE.FindStringSubmatch(l); m != nil {
			ce.File = m[1]
			ce.Line, _ = strconv.Atoi(m[2])
			break
		}
	}
	if ce.File == "" && main != "" {
		for _, l := range ce.Lines {
			for _, q := range quotedPathRE.FindAllStringSubmatch(l, -1) {
				if f, n := findMention(main, q[1]); f != "" {
					ce.File, ce.Line = f, n
					break
				}
			}
			if ce.File != "" {
				break
			}
		}
	}
	if ce.File != "" {
		ce.Ours = samePath(ce.File, s.IncludePath)
	}
	return ce
}

var (
	testFailedRE = regexp.MustCompile(`configuration file (\S+) test failed`)
	inFileRE     = regexp.MustCompile(` in (/\S+):(\d+)\s*$`)
	quotedPathRE = regexp.MustCompile(`"(/[^"]{1,512})"`)
)

// sanitizeLine makes one line of a command's output safe to show: control
// characters (escapes, carriage returns) become spaces, and it is cut.
func sanitizeLine(l string) string {
	l = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, l)
	l = strings.TrimSpace(l)
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}

func samePath(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// findMention finds the first line of nginx's config, from main through
// its includes, that names path: nginx's message about a certificate it
// cannot load names the certificate, not the server block that wants it.
func findMention(main, path string) (string, int) {
	queue, seen := []string{main}, map[string]bool{}
	for len(queue) > 0 && len(seen) < 500 {
		f := queue[0]
		queue = queue[1:]
		if seen[f] {
			continue
		}
		seen[f] = true
		b, err := readCapped(f, 1<<20)
		if err != nil {
			continue
		}
		for i, l := range strings.Split(b, "\n") {
			if t := strings.TrimSpace(l); !strings.HasPrefix(t, "#") && strings.Contains(l, path) && !strings.HasPrefix(t, "include") {
				return f, i + 1
			}
		}
		for _, d := range parseDirectives(b) {
			if d.name != "include" || len(d.args) != 1 {
				continue
			}
			arg := d.args[0]
			if !filepath.IsAbs(arg) {
				arg = filepath.Join(filepath.Dir(main), arg)
			}
			matches, _ := filepath.Glob(arg)
			queue = append(queue, matches...)
		}
	}
	return "", 0
}

func readCapped(path string, max int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max))
	return string(b), err
}

// Package execx runs external commands and reports their failures with the
// exit code and what they printed, so a user sees why nginx -t or a reload
// failed without re-running it by hand.
package execx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Result is what a finished command printed.
type Result struct {
	Stdout string
	Stderr string
}

// Combined returns stdout and stderr together, trimmed, for logs.
func (r Result) Combined() string {
	return strings.TrimSpace(strings.TrimSpace(r.Stdout) + "\n" + strings.TrimSpace(r.Stderr))
}

// Error is a command that could not start or exited non-zero.
type Error struct {
	Args     []string
	ExitCode int // -1 when the command did not start or was killed
	Output   string
	Err      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("command %q", strings.Join(e.Args, " "))
	if e.ExitCode >= 0 {
		msg += fmt.Sprintf(" exited with code %d", e.ExitCode)
	} else {
		msg += fmt.Sprintf(" failed: %v", e.Err)
	}
	if e.Output != "" {
		msg += ": " + e.Output
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// childEnv is the whole environment of a command Run starts.
var childEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}

// Run runs args[0] with args[1:] and returns its output. A non-zero exit,
// a failure to start, or a cancelled context returns an *Error holding the
// exit code and the combined output.
func Run(ctx context.Context, args []string) (Result, error) {
	if len(args) == 0 {
		return Result{}, errors.New("failed to run command: empty command")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// The commands are nginx's (nginx -t, nginx -s reload, a user's own):
	// they get a fixed, minimal environment, never this process's, which
	// holds the inputs (registry-password among them) and the runner's
	// tokens.
	cmd.Env = childEnv
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err == nil {
		return res, nil
	}
	e := &Error{Args: args, ExitCode: -1, Output: res.Combined(), Err: err}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() >= 0 {
		e.ExitCode = exitErr.ExitCode()
	}
	return res, e
}

// Split turns a command line from an input such as "nginx -s reload" into
// arguments. It honours single and double quotes and backslash escapes, so
// `docker exec web sh -c "nginx -t"` works; it does not expand variables.
func Split(s string) ([]string, error) {
	var (
		args    []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped = true
			inWord = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote = r
			inWord = true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if escaped {
		return nil, fmt.Errorf("trailing backslash in %q", s)
	}
	if inWord {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, errors.New("empty command")
	}
	return args, nil
}

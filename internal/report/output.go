package report

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// outputName is what the runner accepts as an output's name, and all that
// can sit before "<<" or "=" in $GITHUB_OUTPUT without changing its sense.
var outputName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Output sets a step output. In Actions it appends to $GITHUB_OUTPUT in
// the heredoc form
//
//	name<<ghadelimiter_<random hex>
//	value
//	ghadelimiter_<random hex>
//
// with a fresh delimiter for every value. go-githubactions uses one fixed
// delimiter, so a value that contains it ends the heredoc early and sets
// any other output it likes; a random one cannot be guessed by the value.
// A value with a line break is refused all the same: no output of this
// action needs one, and refusing it keeps every value one line of the
// file. The file is opened for appending only, never created: the runner
// creates it, and a missing file means something else is wrong.
//
// Outside Actions (no GITHUB_OUTPUT) the output is printed as name=value,
// with the value Go-quoted when it holds anything a reader could misread
// (control characters, surrounding spaces, a leading quote).
//
// Masked secrets in the value are redacted, as everywhere else.
func (r *Reporter) Output(name, value string) error {
	if !outputName.MatchString(name) {
		return fmt.Errorf("failed to set output %s: an output's name is made of A-Z, a-z, 0-9, _ and -", Quote(name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	value = r.redactLocked(value)
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("failed to set output %s to %s: the value has a line break, which this action's outputs never carry", name, Quote(value))
	}
	path := r.getenv("GITHUB_OUTPUT")
	if path == "" {
		r.printLocked(name + "=" + plainValue(value))
		return nil
	}
	delim := "ghadelimiter_" + randomHex()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("failed to set output %s: %w", name, err)
	}
	// One write, so that the record is whole in the file even if another
	// writer appends at the same time.
	_, err = f.WriteString(name + "<<" + delim + "\n" + value + "\n" + delim + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("failed to set output %s: %w", name, err)
	}
	return nil
}

// plainValue is value as printed by hand: itself when it reads back
// unambiguously, otherwise Go-quoted in full (unlike Quote, not cut).
func plainValue(v string) string {
	if cleanLine(v) == v && strings.TrimSpace(v) == v && !strings.HasPrefix(v, `"`) {
		return v
	}
	return quote(v)
}

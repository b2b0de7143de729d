// Package report talks to whoever runs the deploy: to the Actions runner in
// its own format (::group::, annotations, masks, outputs, the job summary),
// and in plain readable lines when run by hand outside Actions.
package report

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"
)

// Reporter writes progress, annotations, outputs and the summary.
// It is safe for concurrent use.
type Reporter struct {
	mu      sync.Mutex
	out     io.Writer
	getenv  func(string) string
	gha     *githubactions.Action
	actions bool
	inGroup bool
}

// New returns a Reporter writing to out. getenv supplies GITHUB_ACTIONS,
// GITHUB_OUTPUT and GITHUB_STEP_SUMMARY; no other variable is read.
func New(out io.Writer, getenv func(string) string) *Reporter {
	return &Reporter{
		out:     out,
		getenv:  getenv,
		gha:     githubactions.New(githubactions.WithWriter(out), githubactions.WithGetenv(getenv)),
		actions: getenv("GITHUB_ACTIONS") == "true",
	}
}

// InActions reports whether the runner's workflow commands are understood.
func (r *Reporter) InActions() bool { return r.actions }

// Phase opens a collapsible group (or prints a heading) for one phase of
// the deploy. Call the returned function to close it.
func (r *Reporter) Phase(name string) (end func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeGroupLocked()
	if r.actions {
		r.gha.Group(name)
		r.inGroup = true
	} else {
		fmt.Fprintf(r.out, "==> %s\n", name)
	}
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.closeGroupLocked()
	}
}

func (r *Reporter) closeGroupLocked() {
	if r.inGroup {
		r.gha.EndGroup()
		r.inGroup = false
	}
}

// Infof prints a progress line.
func (r *Reporter) Infof(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	fmt.Fprint(r.out, msg)
}

// Warnf prints a warning: an annotation in Actions.
func (r *Reporter) Warnf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.actions {
		r.gha.Warningf(format, args...)
		return
	}
	fmt.Fprintf(r.out, "warning: "+format+"\n", args...)
}

// Errorf prints an error: an annotation in Actions. title names the phase
// that failed, so the annotation reads on its own in the run's summary.
func (r *Reporter) Errorf(title, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeGroupLocked()
	msg := fmt.Sprintf(format, args...)
	if r.actions {
		r.gha.WithFieldsMap(map[string]string{"title": title}).Errorf("%s", msg)
		return
	}
	if title != "" {
		fmt.Fprintf(r.out, "error: %s: %s\n", title, msg)
		return
	}
	fmt.Fprintf(r.out, "error: %s\n", msg)
}

// Block prints a titled block of text (a failed container's logs) in its
// own group, so the job log stays short until someone opens it.
func (r *Reporter) Block(title, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeGroupLocked()
	text = strings.TrimRight(text, "\n")
	if r.actions {
		r.gha.Group(title)
		fmt.Fprintln(r.out, text)
		r.gha.EndGroup()
		return
	}
	fmt.Fprintf(r.out, "--- %s\n", title)
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(r.out, "    %s\n", line)
	}
	fmt.Fprintln(r.out, "---")
}

// Mask hides a secret in every later line of the job log.
func (r *Reporter) Mask(secret string) {
	if secret == "" || !r.actions {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gha.AddMask(secret)
}

// Output sets a step output: appended to $GITHUB_OUTPUT, or printed as
// name=value when it is unset (running by hand).
func (r *Reporter) Output(name, value string) (err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.getenv("GITHUB_OUTPUT") == "" {
		_, err = fmt.Fprintf(r.out, "%s=%s\n", name, value)
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("failed to write output %s: %v", name, p)
		}
	}()
	r.gha.SetOutput(name, value)
	return nil
}

// Summary appends Markdown to the job summary when the runner provides one.
func (r *Reporter) Summary(markdown string) (err error) {
	if r.getenv("GITHUB_STEP_SUMMARY") == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("failed to write the job summary: %v", p)
		}
	}()
	r.gha.AddStepSummary(markdown)
	return nil
}

package report

import "fmt"

// Output sets a step output: appended to $GITHUB_OUTPUT, or printed as
// name=value when it is unset (running by hand). Masked secrets in the
// value are redacted.
func (r *Reporter) Output(name, value string) (err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	value = r.redactLocked(value)
	if r.getenv("GITHUB_OUTPUT") == "" {
		r.printLocked(cleanLine(name + "=" + value))
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("failed to write output %s: %v", name, p)
		}
	}()
	r.gha.SetOutput(name, value)
	return nil
}

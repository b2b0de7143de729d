package report

import "fmt"

// Summary appends Markdown to the job summary when the runner provides
// one. Masked secrets are redacted from it.
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
	r.gha.AddStepSummary(r.redactLocked(markdown))
	return nil
}

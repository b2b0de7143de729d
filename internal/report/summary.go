package report

import (
	"fmt"
	"os"
)

// Summary appends Markdown to the job summary when the runner provides
// one. Masked secrets are redacted from it. Like Output, the file is
// appended to and never created.
func (r *Reporter) Summary(markdown string) error {
	path := r.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	markdown = r.redactLocked(markdown)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("failed to write the job summary: %w", err)
	}
	_, err = f.WriteString(markdown + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("failed to write the job summary: %w", err)
	}
	return nil
}

package lock

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxField caps each text field of the record a holder writes.
const maxField = 128

// Holder describes the deploy that holds a lock. A record read back from a
// lock file is untrusted: String makes it safe to print.
type Holder struct {
	PID      int       `json:"pid"`
	Host     string    `json:"host,omitempty"`
	RunID    string    `json:"run_id,omitempty"`
	SHA      string    `json:"sha,omitempty"`
	Workflow string    `json:"workflow,omitempty"`
	Started  time.Time `json:"started"`
}

// String names the holder on one line that is safe in a GitHub Actions job
// log: a field that is not a plain word is quoted with every control
// character escaped (no newline or carriage return can start a line, so
// no ::command:: can either), and its # written as \x23 so that no ##[
// command, which the runner finds anywhere in a line, can form. Fields are
// capped.
func (h Holder) String() string {
	if h.PID <= 0 && h.RunID == "" && h.SHA == "" && h.Started.IsZero() {
		return "a holder that left no record"
	}
	s := fmt.Sprintf("pid %d", h.PID)
	if h.RunID != "" {
		s += ", run " + printable(h.RunID, 32)
	}
	if h.SHA != "" {
		s += ", commit " + printable(h.SHA, 12)
	}
	if !h.Started.IsZero() {
		s += fmt.Sprintf(", started %s (%s ago)", h.Started.UTC().Format(time.RFC3339), time.Since(h.Started).Round(time.Second))
	}
	return s
}

// printable returns s cut to n runes: bare when it is a plain word,
// quoted otherwise.
func printable(s string, n int) string {
	s = truncate(s, n)
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return strings.ReplaceAll(strconv.QuoteToASCII(s), "#", `\x23`)
		}
	}
	return s
}

// truncate returns the first n runes of s.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// capped returns h with its text fields cut to maxField, so that the
// record it writes stays well under maxRecord.
func (h Holder) capped() Holder {
	h.Host = truncate(h.Host, maxField)
	h.RunID = truncate(h.RunID, maxField)
	h.SHA = truncate(h.SHA, maxField)
	h.Workflow = truncate(h.Workflow, maxField)
	return h
}

// readRecord reads the holder record through an open lock file, at most
// maxRecord bytes of it. A record that does not parse gives the zero
// Holder: it only serves to name the holder in a message.
func readRecord(f *os.File) Holder {
	var h Holder
	data, err := io.ReadAll(io.NewSectionReader(f, 0, maxRecord))
	if err == nil {
		if json.Unmarshal(data, &h) != nil {
			h = Holder{}
		}
	}
	return h
}

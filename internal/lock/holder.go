package lock

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Holder describes the deploy that holds a lock.
type Holder struct {
	PID      int       `json:"pid"`
	Host     string    `json:"host,omitempty"`
	RunID    string    `json:"run_id,omitempty"`
	SHA      string    `json:"sha,omitempty"`
	Workflow string    `json:"workflow,omitempty"`
	Started  time.Time `json:"started"`
}

func (h Holder) String() string {
	s := fmt.Sprintf("pid %d", h.PID)
	if h.RunID != "" {
		s += ", run " + h.RunID
	}
	if h.SHA != "" {
		sha := h.SHA
		if len(sha) > 12 {
			sha = sha[:12]
		}
		s += ", commit " + sha
	}
	if !h.Started.IsZero() {
		s += fmt.Sprintf(", started %s (%s ago)", h.Started.UTC().Format(time.RFC3339), time.Since(h.Started).Round(time.Second))
	}
	return s
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

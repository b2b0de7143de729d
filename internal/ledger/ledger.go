// Package ledger keeps each project's deploy history on the host: one
// JSON line a run, newest last, in <dir>/<project>/history.jsonl. It is
// what `mode: history` shows, what `mode: rollback` with `to:` redeploys
// from, and what decides which images are kept.
//
// The file survives reboots (it lives under /var/lib, not /run), is only
// written while the project's deploy lock is held, and is replaced as a
// whole through a temp file and a rename, so a deploy killed at any point
// leaves either the old history or the new one, never half a line. It never
// grows past its limit: the oldest entries are dropped.
package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/privdir"
)

// DefaultDir holds one directory per project.
const DefaultDir = "/var/lib/bluegreen"

// DefaultLimit is how many entries a history keeps.
const DefaultLimit = 50

// fileName is the history's name inside the project's directory.
const fileName = "history.jsonl"

// maxFile caps what is read: DefaultLimit entries are a few tens of KiB,
// and the file is data another run wrote, to be read defensively.
const maxFile = 8 << 20

// Result is how a run ended.
type Result string

// The results a run can have.
const (
	Succeeded  Result = "succeeded"
	Failed     Result = "failed"
	RolledBack Result = "rolled-back" // a failed run that put the previous color back
)

// Image is what a service ran: the reference it was deployed as, the
// image's id on the host and, when the registry gave one, the repository
// digest it can be pulled again by.
type Image struct {
	Ref    string `json:"ref"`
	ID     string `json:"id,omitempty"`
	Digest string `json:"digest,omitempty"` // repo@sha256:…
	// Pulled is true when this run brought the image to the host (pulled
	// or built it): only such images may be removed by retain-images.
	Pulled bool `json:"pulled,omitempty"`
}

// Phase is one phase's kind and time.
type Phase struct {
	Kind    string  `json:"kind"`
	Seconds float64 `json:"seconds"`
	Failed  bool    `json:"failed,omitempty"`
}

// Entry is one run.
type Entry struct {
	DeployID string    `json:"deploy_id"`
	Time     time.Time `json:"time"`
	Mode     string    `json:"mode"`
	Result   Result    `json:"result"`
	// Color is the color the run started (or staged, or went back to);
	// Active the color serving when it ended.
	Color    string `json:"color,omitempty"`
	Active   string `json:"active,omitempty"`
	Previous string `json:"previous,omitempty"`
	// RollbackTo is the deploy id a rollback returned to.
	RollbackTo string           `json:"rollback_to,omitempty"`
	Images     map[string]Image `json:"images,omitempty"`
	// Roles says what the run did with shared services, jobs and
	// singletons; nil for an app without them.
	Roles *Roles `json:"roles,omitempty"`
	// ComposeHash is a hash of the compose files' contents, so that two
	// deploys of one image with different settings can be told apart.
	ComposeHash string  `json:"compose_hash,omitempty"`
	RunID       string  `json:"run_id,omitempty"`
	Commit      string  `json:"commit,omitempty"`
	Workflow    string  `json:"workflow,omitempty"`
	Actor       string  `json:"actor,omitempty"`
	FailedPhase string  `json:"failed_phase,omitempty"`
	Seconds     float64 `json:"seconds"`
	Phases      []Phase `json:"phases,omitempty"`
}

// Ledger is one project's history.
type Ledger struct {
	dir     string // the project's directory
	project string
	limit   int
}

// ErrNotFound means no entry has the deploy id asked for.
var ErrNotFound = errors.New("no such deploy in the history")

// New returns the history of project under dir (DefaultDir when empty),
// keeping at most limit entries (DefaultLimit when < 1). Nothing is read
// or created until it is used.
func New(dir, project string, limit int) (*Ledger, error) {
	if dir == "" {
		dir = DefaultDir
	}
	if project == "" || strings.ContainsAny(project, "/\x00") || strings.Contains(project, "..") {
		return nil, fmt.Errorf("invalid project name %q for a history: it must not be empty or hold /, .. or NUL", project)
	}
	if limit < 1 {
		limit = DefaultLimit
	}
	return &Ledger{dir: strings.TrimRight(dir, "/") + "/" + project, project: project, limit: limit}, nil
}

// Path is the history file's path.
func (l *Ledger) Path() string { return l.dir + "/" + fileName }

// open opens the project's directory, checked to be writable by us alone.
func (l *Ledger) open(create bool) (*privdir.Dir, error) {
	// The parent (/var/lib/bluegreen) holds every project's directory;
	// it is checked the same way, so that no other user can swap a
	// project's directory for a link.
	parent, err := privdir.Open(l.dir[:strings.LastIndex(l.dir, "/")], create, "history directory")
	if err != nil || parent == nil {
		return nil, err
	}
	parent.Close()
	return privdir.Open(l.dir, create, "history directory")
}

// Entries returns the history, oldest first. Lines that do not parse (a
// hand edit) are skipped and counted in skipped, never fatal: the history
// informs a deploy, it must not stop one.
func (l *Ledger) Entries() (entries []Entry, skipped int, err error) {
	d, err := l.open(false)
	if err != nil || d == nil {
		return nil, 0, err
	}
	defer d.Close()
	data, err := d.ReadFile(fileName, maxFile, "history file")
	if err != nil {
		return nil, 0, err
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil || e.DeployID == "" {
			skipped++
			continue
		}
		entries = append(entries, e)
	}
	return entries, skipped, nil
}

// Append adds e as the newest entry, dropping the oldest beyond the
// limit. Call it only while holding the project's deploy lock.
func (l *Ledger) Append(e Entry) error {
	if e.DeployID == "" {
		return errors.New("failed to record the deploy: it has no deploy id")
	}
	entries, _, err := l.Entries()
	if err != nil {
		return err
	}
	entries = append(entries, e)
	if len(entries) > l.limit {
		entries = entries[len(entries)-l.limit:]
	}
	var b bytes.Buffer
	for _, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("failed to record deploy %s: %w", e.DeployID, err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	d, err := l.open(true)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.RemoveTemps(fileName); err != nil {
		return err
	}
	return d.WriteFile(fileName, b.Bytes(), "history file")
}

// Find returns the entry with deploy id id.
func (l *Ledger) Find(id string) (Entry, error) {
	entries, _, err := l.Entries()
	if err != nil {
		return Entry{}, err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].DeployID == id {
			return entries[i], nil
		}
	}
	return Entry{}, fmt.Errorf("%w: %q is not among the %d deploys recorded in %s; run mode: history to list them", ErrNotFound, id, len(entries), l.Path())
}

// LastSucceeded returns the last n successful deploys, newest
// first.
func LastSucceeded(entries []Entry, n int) []Entry {
	var out []Entry
	for i := len(entries) - 1; i >= 0 && len(out) < n; i-- {
		if entries[i].Result == Succeeded && entries[i].Mode != "status" && entries[i].Mode != "history" {
			out = append(out, entries[i])
		}
	}
	return out
}

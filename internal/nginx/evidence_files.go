package nginx

// Where a deploy's canary keeps nginx's evidence on a host: the log beside
// the include (a directory nginx already reads and the action already
// writes), the format file where nginx.conf includes a pattern in http
// context, and the reader of the log.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// Dump returns nginx's whole configuration as nginx -T prints it.
func (s *Switcher) Dump(ctx context.Context) (string, error) {
	cmd, ok := dumpCommand(s.TestCmd)
	if !ok {
		return "", fmt.Errorf("failed to dump the nginx config: the test command %q has no -t flag", strings.Join(s.TestCmd, " "))
	}
	res, err := s.run(ctx, cmd)
	if err != nil {
		return "", fmt.Errorf("failed to dump the nginx config: %w", err)
	}
	return res.Stdout, nil
}

// EvidenceSuffix is added to the include's path to name the evidence log:
// no *.conf or *.log pattern matches it.
const EvidenceSuffix = ".evidence"

// EvidenceFiles is a canary's evidence on the host nginx runs on.
type EvidenceFiles struct {
	// Switcher runs nginx -T; its IncludePath is the include as this
	// process sees it, and the log is written beside it.
	Switcher *Switcher
	// IncludePath is the include as nginx names it (inside the nginx
	// container when there is one).
	IncludePath string
	// HostPath maps a path as nginx names it to this process's view
	// (Container.HostPath); nil is the identity.
	HostPath func(string) (string, error)
}

// Prepare writes the evidence's log format where nginx reads it in http
// context and returns the log a canary include names and the directives
// a server-context include must repeat (CanaryKeep). A log left by an
// earlier canary is removed, so that each canary reads only its own.
func (e *EvidenceFiles) Prepare(ctx context.Context) (EvidenceLog, []string, error) {
	dump, err := e.Switcher.Dump(ctx)
	if err != nil {
		return EvidenceLog{}, nil, err
	}
	if _, err := EnsureEvidenceFormat(dump, e.HostPath); err != nil {
		return EvidenceLog{}, nil, err
	}
	e.Remove()
	return EvidenceLog{Path: e.IncludePath + EvidenceSuffix}, CanaryKeep(dump, e.IncludePath, true), nil
}

func (e *EvidenceFiles) reader(addrs map[string]color.Color) *EvidenceReader {
	return &EvidenceReader{Path: e.Switcher.IncludePath + EvidenceSuffix, Addrs: addrs}
}

// Mark returns where the next window of the log starts.
func (e *EvidenceFiles) Mark() (int64, error) { return e.reader(nil).Mark() }

// Since reads the log from mark, telling the colors apart by addrs
// (EvidenceAddrs).
func (e *EvidenceFiles) Since(mark int64, addrs map[string]color.Color) (Evidence, int64, error) {
	return e.reader(addrs).Since(mark)
}

// Remove deletes the log. nginx may still hold it open until its next
// reload; the space is freed then.
func (e *EvidenceFiles) Remove() {
	if err := os.Remove(e.Switcher.IncludePath + EvidenceSuffix); err != nil && !errors.Is(err, os.ErrNotExist) && e.Switcher.Warnf != nil {
		e.Switcher.Warnf("failed to remove the canary's evidence log: %v", err)
	}
}

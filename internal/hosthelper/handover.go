package hosthelper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Handover is what a launcher hands its helper through the helper's
// attached stdin, as one JSON document, before anything else happens.
//
// A container's Env and Cmd are stored with it and shown to anyone who may
// `docker inspect` it (and to monitoring agents that record container
// configs). The runner's environment holds tokens (ACTIONS_RUNTIME_TOKEN,
// ACTIONS_ID_TOKEN_REQUEST_TOKEN) and the deploy's inputs hold the
// registry password, so none of it goes there: the helper's Env holds only
// its own settings (role, root, working directory, parent, PATH), and the
// deploy's environment travels here, read once from a pipe and kept in the
// helper's memory.
type Handover struct {
	// Env is the environment the deploy runs with: inputs, the runner's
	// variables the deploy reads, and the user's variables for compose
	// interpolation. It is never put in a process environment.
	Env map[string]string `json:"env"`

	// The fields below are set by a fleet rollout (package fleet), which
	// runs the helper on a host that has no checkout.

	// Dir, when set, is the host directory the deploy runs in (a
	// DeployDir); Files are written into it first.
	Dir   string `json:"dir,omitempty"`
	Files []File `json:"files,omitempty"`
	// ResultToken, when set, makes the helper print its deploy's result
	// as a TokenLine once it is done, so that the runner gets it back as
	// data rather than from the log.
	ResultToken string `json:"result_token,omitempty"`
	// WatchStdin makes the helper stop when its stdin ends after the
	// handover: the runner holds it open for the whole run, so its end
	// means the runner (or its connection to this host) is gone.
	WatchStdin bool `json:"watch_stdin,omitempty"`
	// Lock, when set, makes this helper hold the fleet lock of its host
	// instead of deploying.
	Lock *FleetLock `json:"lock,omitempty"`
	// SkipJobs makes the deploy leave the compose file's jobs out
	// (deploy.Jobs): a job runs once per rollout, on the fleet's first
	// host, whose name JobsRanOn holds (empty in a rollback).
	SkipJobs  bool   `json:"skip_jobs,omitempty"`
	JobsRanOn string `json:"jobs_ran_on,omitempty"`
	// ReportJobs makes the helper print a TokenLine (the fleet's
	// JobsSettledLine) once its deploy's jobs have all exited 0, or it
	// has none: the runner then starts the fleet's other hosts.
	ReportJobs bool `json:"report_jobs,omitempty"`
}

// File is one file a fleet deploy ships to a host: a compose file, an env
// file, a file a compose file mounts. Data travels base64-encoded.
type File struct {
	Path string `json:"path"` // relative to Handover.Dir, slash-separated
	Mode uint32 `json:"mode"` // permission bits
	Data []byte `json:"data"`
}

// FleetLock asks the helper to take its host's fleet lock of Project
// (waiting up to Timeout), print TokenLine(ResultToken, "locked") and hold
// it until its stdin ends: the runner holds one such helper per host
// while it rolls the fleet.
type FleetLock struct {
	Project string        `json:"project"`
	Timeout time.Duration `json:"timeout"`
	// Dir is the lock directory (default DefaultFleetLockDir).
	Dir string `json:"dir,omitempty"`
	// RunID, SHA and Workflow name the rollout in the lock's record, for
	// another rollout that has to wait.
	RunID    string `json:"run_id,omitempty"`
	SHA      string `json:"sha,omitempty"`
	Workflow string `json:"workflow,omitempty"`
}

// MaxHandover bounds the handover document: an environment is a few
// kilobytes; a fleet deploy's files are capped at MaxFiles bytes, which
// base64 makes a third larger.
const MaxHandover = MaxFiles*4/3 + 1<<20

// MaxFiles caps the bytes of the files a fleet deploy ships to a host.
const MaxFiles = 16 << 20

// handoverWait bounds the wait for the handover: the launcher writes it
// as soon as the helper has started.
const handoverWait = time.Minute

// ErrNoHandover means the helper's stdin ended, or stayed silent, without
// a handover: it was not started by a launcher.
var ErrNoHandover = errors.New("no handover on stdin")

// WriteHandover writes h as one JSON document followed by a newline.
func WriteHandover(w io.Writer, h Handover) error {
	data, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("failed to encode the helper's handover: %w", err)
	}
	if len(data) > MaxHandover {
		return fmt.Errorf("failed to hand over to the helper: the handover is %d bytes, more than %d", len(data), MaxHandover)
	}
	if _, err := w.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("failed to hand over to the helper: %w", err)
	}
	return nil
}

// ReadHandover reads one handover document from r, at most MaxHandover
// bytes, waiting up to a minute for it. What follows the document on r is
// left unread, so that a caller can go on to wait for r's end.
func ReadHandover(ctx context.Context, r io.Reader) (Handover, error) {
	if r == nil {
		return Handover{}, fmt.Errorf("%w: the helper has no stdin", ErrNoHandover)
	}
	type result struct {
		h   Handover
		err error
	}
	done := make(chan result, 1)
	go func() {
		lr := &io.LimitedReader{R: r, N: MaxHandover + 1}
		dec := json.NewDecoder(lr)
		dec.DisallowUnknownFields()
		var h Handover
		err := dec.Decode(&h)
		switch {
		case errors.Is(err, io.EOF):
			err = fmt.Errorf("%w: stdin ended before it", ErrNoHandover)
		case err != nil && lr.N <= 0:
			err = fmt.Errorf("failed to read the handover: it is larger than %d bytes", MaxHandover)
		case err != nil:
			err = fmt.Errorf("failed to read the handover: %w", err)
		}
		done <- result{h, err}
	}()
	t := time.NewTimer(handoverWait)
	defer t.Stop()
	select {
	case res := <-done:
		if res.err == nil && res.h.Env == nil {
			res.h.Env = map[string]string{}
		}
		return res.h, res.err
	case <-t.C:
		return Handover{}, fmt.Errorf("%w: nothing arrived within %s", ErrNoHandover, handoverWait)
	case <-ctx.Done():
		return Handover{}, fmt.Errorf("%w: %w", ErrNoHandover, context.Cause(ctx))
	}
}

// tokenPrefix starts a line a helper prints for its launcher rather than
// for the log.
const tokenPrefix = "bluegreen-result "

// TokenLine is a line a helper prints for its launcher: "bluegreen-result
// <token> <payload>". The token is a random value the launcher handed over
// on the helper's stdin, so nothing else the helper prints (a container's
// log, which the helper cleans and indents anyway) can know it and pass
// for such a line. It is not a workflow command; a launcher that asked
// for it never relays it.
func TokenLine(token, payload string) string { return tokenPrefix + token + " " + payload }

// CutTokenLine returns the payload of a TokenLine with token; ok is false
// for any other line, and always for an empty token.
func CutTokenLine(token, line string) (payload string, ok bool) {
	if token == "" {
		return "", false
	}
	return strings.CutPrefix(line, tokenPrefix+token+" ")
}

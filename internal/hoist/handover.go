package hoist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
}

// MaxHandover bounds the handover document: an environment is a few
// kilobytes.
const MaxHandover = 1 << 20

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

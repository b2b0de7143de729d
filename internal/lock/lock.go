// Package lock serialises deploys of one project on one host. It uses
// flock(2), so the lock dies with its holder: a deploy killed with SIGKILL
// can never leave it stuck. The holder writes who it is into the lock file,
// so a waiter can say whom it waits for.
package lock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrTimeout means another deploy held the lock for longer than allowed.
var ErrTimeout = errors.New("timed out waiting for the deploy lock")

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

// Lock is a held lock.
type Lock struct {
	f    *os.File
	path string
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// Acquire takes the lock at path, waiting up to timeout while another
// process holds it. onWait is called once, with the holder's record, when
// the lock is busy. The returned error names the holder on timeout.
func Acquire(ctx context.Context, path string, me Holder, timeout time.Duration, onWait func(Holder)) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("failed to create lock directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open lock file %s: %w", path, err)
	}
	deadline := time.Now().Add(timeout)
	warned := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("failed to lock %s: %w", path, err)
		}
		holder := ReadHolder(path)
		if !warned && onWait != nil {
			onWait(holder)
			warned = true
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w (%s): another deploy of this project holds it: %s; wait for it to finish, or raise lock-timeout", ErrTimeout, timeout, holder)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("gave up waiting for the deploy lock held by %s: %w", holder, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if me.PID == 0 {
		me.PID = os.Getpid()
	}
	if me.Started.IsZero() {
		me.Started = time.Now()
	}
	data, _ := json.Marshal(me)
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(data, '\n'), 0)
		_ = f.Sync()
	}
	return &Lock{f: f, path: path}, nil
}

// ReadHolder returns the record the current holder wrote (zero if none).
func ReadHolder(path string) Holder {
	var h Holder
	data, err := os.ReadFile(path)
	if err == nil {
		_ = json.Unmarshal(data, &h)
	}
	return h
}

// Free reports whether nobody holds the lock at path.
func Free(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return false, nil
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return true, nil
}

// Release gives the lock up. The record is cleared first so that a stale
// record is never mistaken for a holder.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	cerr := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("failed to unlock %s: %w", l.path, err)
	}
	return cerr
}

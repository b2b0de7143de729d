// Package lock serialises deploys of one project on one host. It uses
// flock(2), so the lock dies with its holder: a deploy killed with SIGKILL
// can never leave it stuck. The holder writes who it is into the lock file,
// so a waiter can say whom it waits for.
//
// The deploy runs as root, so the lock lives in a directory only root can
// write (DefaultDir) and is opened without following links and checked
// once open; see dir.go.
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

// Lock is a held lock.
type Lock struct {
	f    *os.File
	path string
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// Acquire takes project's lock in dir, waiting up to timeout while another
// process holds it. dir is created (mode 0700) if missing and refused with
// ErrUnsafe if a user other than the running one could write it; so is a
// lock file that is a link, not a regular file or not ours. onWait is
// called once, with the holder's record, when the lock is busy. The
// returned error names the holder on timeout.
func Acquire(ctx context.Context, dir, project string, me Holder, timeout time.Duration, onWait func(Holder)) (*Lock, error) {
	name, err := fileName(project)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name)
	d, err := openDir(dir, true)
	if err != nil {
		return nil, err
	}
	f, err := openFile(d, path, name, syscall.O_RDWR|syscall.O_CREAT)
	d.Close()
	if err != nil {
		return nil, err
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
		holder := readRecord(f)
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
	// The record goes through the locked file, never its path.
	data, _ := json.Marshal(me.capped())
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(data, '\n'), 0)
		_ = f.Sync()
	}
	return &Lock{f: f, path: path}, nil
}

// ReadHolder returns the record the holder of project's lock in dir wrote
// (zero if none). The lock file gets the same checks as in Acquire.
func ReadHolder(dir, project string) (Holder, error) {
	f, err := openExisting(dir, project)
	if f == nil || err != nil {
		return Holder{}, err
	}
	defer f.Close()
	return readRecord(f), nil
}

// Free reports whether nobody holds project's lock in dir. The lock file
// gets the same checks as in Acquire.
func Free(dir, project string) (bool, error) {
	f, err := openExisting(dir, project)
	if f == nil || err != nil {
		return err == nil, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return false, nil
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return true, nil
}

// openExisting opens project's lock file in dir read-only, or returns nil
// if the directory or the file does not exist.
func openExisting(dir, project string) (*os.File, error) {
	name, err := fileName(project)
	if err != nil {
		return nil, err
	}
	d, err := openDir(dir, false)
	if d == nil || err != nil {
		return nil, err
	}
	defer d.Close()
	return openFile(d, filepath.Join(dir, name), name, syscall.O_RDONLY)
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

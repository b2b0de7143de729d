// Package privdir keeps files in directories only the running user can
// write or read. bluegreen runs as root on the host; a file it writes in
// a directory another user can write could be a planted symbolic link or
// hard link, and root's write would then land on whatever it points at;
// and what it keeps there (deploy histories, a rollout's env files) is
// for root's eyes. So a directory is opened once and checked (owned by
// us, not writable by group or others, not a link), made private when it
// is readable by others (an older bluegreen made /var/lib/bluegreen
// 0755), files are opened relative to it without following links and
// checked again on the open file, and whole-file writes go through a temp
// file renamed into place.
package privdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// UnsafeError is a directory or file another user could have planted,
// written or could hold. Nothing was written when it is returned.
type UnsafeError struct {
	Noun string // "lock directory", "history file"
	Path string
	What string // what is wrong, in words
}

func (e *UnsafeError) Error() string { return e.Noun + " " + e.Path + " " + e.What }

// Dir is an open, checked directory.
type Dir struct {
	f    *os.File
	path string
	noun string // for messages: "lock directory"
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// Close closes the directory.
func (d *Dir) Close() error { return d.f.Close() }

// Open opens path after checking that only the running user can write
// it, and makes it private (mode 0700) when group or others may read or
// enter it; one it cannot make private is refused. With create, a missing
// directory is made with mode 0700 (its parents 0755); mkdir(2) never
// follows a symbolic link at the last component. Without create, a
// missing directory gives (nil, nil). noun names the directory in errors
// ("lock directory").
func Open(path string, create bool, noun string) (*Dir, error) {
	if path == "" {
		return nil, fmt.Errorf("failed to open the %s: its path is empty", noun)
	}
	path = filepath.Clean(path)
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("failed to create the %s's parent: %w", noun, err)
		}
		if err := syscall.Mkdir(path, 0o700); err != nil && !errors.Is(err, syscall.EEXIST) {
			return nil, fmt.Errorf("failed to create %s %s: %w", noun, path, err)
		}
	}
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		if !create && errors.Is(err, syscall.ENOENT) {
			return nil, nil
		}
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			return nil, &UnsafeError{noun, path, "is a symbolic link, which could lead the deploy's writes elsewhere; remove the link"}
		}
		return nil, fmt.Errorf("failed to open %s %s: %w", noun, path, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("failed to stat %s %s: %w", noun, path, err)
	}
	euid := os.Geteuid()
	switch {
	case int(st.Uid) != euid:
		syscall.Close(fd)
		return nil, &UnsafeError{noun, path, fmt.Sprintf("is owned by uid %d, not uid %d that bluegreen runs as, so that user could plant links or files there", st.Uid, euid)}
	case st.Mode&0o022 != 0:
		syscall.Close(fd)
		return nil, &UnsafeError{noun, path, fmt.Sprintf("is writable by group or others (mode %04o), so another user could plant a link there that the deploy would write through, or files it would trust", st.Mode&0o7777)}
	case st.Mode&0o055 != 0:
		// Ours and written by us alone, but others can look in: repair it
		// through the open descriptor, which no link can redirect.
		if err := syscall.Fchmod(fd, st.Mode&0o700); err != nil {
			syscall.Close(fd)
			return nil, &UnsafeError{noun, path, fmt.Sprintf("is readable by group or others (mode %04o) and could not be made private (%v): chmod 700 it", st.Mode&0o7777, err)}
		}
	}
	return &Dir{f: os.NewFile(uintptr(fd), path), path: path, noun: noun}, nil
}

// OpenFile opens name in d without following a symbolic link, then checks
// the open file itself: a regular file of the running user with one link.
// A file that fails a check is closed untouched. Without O_CREAT, a
// missing file gives (nil, nil). noun names the file in errors.
func (d *Dir) OpenFile(name string, flags int, noun string) (*os.File, error) {
	path := filepath.Join(d.path, name)
	// O_NONBLOCK keeps a planted FIFO from blocking the open; it is
	// cleared before the file is used.
	fd, err := syscall.Openat(int(d.f.Fd()), name, flags|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		switch {
		case flags&syscall.O_CREAT == 0 && errors.Is(err, syscall.ENOENT):
			return nil, nil
		case errors.Is(err, syscall.ELOOP):
			return nil, &UnsafeError{noun, path, "is a symbolic link, which could make the deploy overwrite its target; it was left alone"}
		}
		return nil, fmt.Errorf("failed to open %s %s: %w", noun, path, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("failed to stat %s %s: %w", noun, path, err)
	}
	euid := os.Geteuid()
	var bad string
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		bad = fmt.Sprintf("is not a regular file (mode %06o)", st.Mode)
	case int(st.Uid) != euid:
		bad = fmt.Sprintf("is owned by uid %d, not uid %d that bluegreen runs as, so that user could hold or rewrite it", st.Uid, euid)
	case st.Nlink != 1:
		bad = fmt.Sprintf("has %d links, so writing it would write another file too", st.Nlink)
	}
	if bad != "" {
		syscall.Close(fd)
		return nil, &UnsafeError{noun, path, bad}
	}
	// A file of ours readable by others (an older bluegreen made its lock
	// files 0644) would let them open it.
	if st.Mode&0o077 != 0 {
		if err := syscall.Fchmod(fd, 0o600); err != nil {
			syscall.Close(fd)
			return nil, fmt.Errorf("failed to make %s %s private: %w", noun, path, err)
		}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("failed to open %s %s: %w", noun, path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// ReadFile reads at most max bytes of name in d through OpenFile's checks.
// A missing file gives (nil, nil).
func (d *Dir) ReadFile(name string, max int64, noun string) ([]byte, error) {
	f, err := d.OpenFile(name, syscall.O_RDONLY, noun)
	if err != nil || f == nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("failed to stat %s %s: %w", noun, f.Name(), err)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s %s is %d bytes, more than the %d it may hold", noun, f.Name(), st.Size(), max)
	}
	data := make([]byte, st.Size())
	n, err := f.ReadAt(data, 0)
	if err != nil && n != len(data) {
		return nil, fmt.Errorf("failed to read %s %s: %w", noun, f.Name(), err)
	}
	return data[:n], nil
}

// WriteFile replaces name in d with data atomically: a new temp file in d
// (O_EXCL, so never an existing file or link), written and fsynced, then
// renamed over name and the directory fsynced. A crash leaves either the
// old file or the new one, and at worst a temp file RemoveTemps removes.
func (d *Dir) WriteFile(name string, data []byte, noun string) error {
	tmp := tempPrefix(name) + strconv.FormatInt(time.Now().UnixNano(), 36)
	fd, err := syscall.Openat(int(d.f.Fd()), tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("failed to create a temp file for %s %s: %w", noun, filepath.Join(d.path, name), err)
	}
	f := os.NewFile(uintptr(fd), filepath.Join(d.path, tmp))
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = unix.Renameat(int(d.f.Fd()), tmp, int(d.f.Fd()), name)
	}
	if werr != nil {
		_ = unix.Unlinkat(int(d.f.Fd()), tmp, 0)
		return fmt.Errorf("failed to write %s %s: %w", noun, filepath.Join(d.path, name), werr)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("failed to sync %s %s: %w", d.noun, d.path, err)
	}
	return nil
}

// RemoveTemps removes temp files WriteFile left for name when it was
// killed between creating and renaming one.
func (d *Dir) RemoveTemps(name string) error {
	names, err := d.f.ReadDir(-1)
	if _, serr := d.f.Seek(0, 0); serr != nil && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("failed to list %s %s: %w", d.noun, d.path, err)
	}
	prefix := tempPrefix(name)
	for _, e := range names {
		if len(e.Name()) > len(prefix) && e.Name()[:len(prefix)] == prefix {
			if err := unix.Unlinkat(int(d.f.Fd()), e.Name(), 0); err != nil && !errors.Is(err, syscall.ENOENT) {
				return fmt.Errorf("failed to remove %s: %w", filepath.Join(d.path, e.Name()), err)
			}
		}
	}
	return nil
}

func tempPrefix(name string) string { return "." + name + ".tmp-" }

package lock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultDir holds one lock file per project. It is private to the user
// bluegreen runs as (root, mode 0700), not the shared /var/lock: in a
// directory other users can write, one of them can plant a symbolic link
// at the lock's name, which root's deploy would then write through, or
// create and hold the lock file itself and block every deploy. /run is a
// tmpfs, so the directory starts empty at each boot, as the locks do.
const DefaultDir = "/run/bluegreen"

// ErrUnsafe means the lock directory or the lock file could have been
// planted, written or held by a user other than the one bluegreen runs as.
// Nothing is written when it is returned.
var ErrUnsafe = errors.New("unsafe deploy lock")

// maxRecord is the most of a lock file that is read: a holder record is
// well under it, and a lock file is untrusted data.
const maxRecord = 4096

// Path returns the lock file of project in dir.
func Path(dir, project string) (string, error) {
	name, err := fileName(project)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// fileName refuses a project name that could leave the lock directory.
// Compose project names never hold these characters; the check keeps a
// mistake elsewhere from turning into a path.
func fileName(project string) (string, error) {
	if project == "" || strings.ContainsAny(project, "/\x00") || strings.Contains(project, "..") {
		return "", fmt.Errorf("invalid project name %q for a lock file: it must not be empty or hold /, .. or NUL", project)
	}
	return "bluegreen-" + project + ".lock", nil
}

// openDir opens dir after checking that only the running user can write
// it. With create, a missing dir is made with mode 0700 (its parents
// 0755); mkdir(2) never follows a symbolic link at the last component.
// Without create, a missing dir gives (nil, nil). The lock file is then
// opened relative to the returned directory, so the directory checked is
// the one used even if its path is renamed in between.
func openDir(dir string, create bool) (*os.File, error) {
	if dir == "" {
		return nil, errors.New("failed to open the lock directory: its path is empty")
	}
	dir = filepath.Clean(dir)
	if create {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("failed to create the lock directory's parent: %w", err)
		}
		if err := syscall.Mkdir(dir, 0o700); err != nil && !errors.Is(err, syscall.EEXIST) {
			return nil, fmt.Errorf("failed to create lock directory %s: %w", dir, err)
		}
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		if !create && errors.Is(err, syscall.ENOENT) {
			return nil, nil
		}
		if fi, lerr := os.Lstat(dir); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			return nil, unsafeDir(dir, "is a symbolic link, which could lead the deploy's writes elsewhere; remove the link")
		}
		return nil, fmt.Errorf("failed to open lock directory %s: %w", dir, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("failed to stat lock directory %s: %w", dir, err)
	}
	euid := os.Geteuid()
	switch {
	case int(st.Uid) != euid:
		syscall.Close(fd)
		return nil, unsafeDir(dir, fmt.Sprintf("is owned by uid %d, not uid %d that bluegreen runs as, so that user could plant links or hold the lock there", st.Uid, euid))
	case st.Mode&0o022 != 0:
		syscall.Close(fd)
		return nil, unsafeDir(dir, fmt.Sprintf("is writable by group or others (mode %04o), so another user could plant a link there that the deploy would write through, or create and hold the lock file", st.Mode&0o7777))
	}
	return os.NewFile(uintptr(fd), dir), nil
}

func unsafeDir(dir, what string) error {
	return fmt.Errorf("%w: lock directory %s %s. Point BLUEGREEN_LOCK_DIR at a directory only uid %d can write (mode 0700), or unset it to use %s, which bluegreen creates that way",
		ErrUnsafe, dir, what, os.Geteuid(), DefaultDir)
}

// openFile opens the lock file name in d without following a symbolic
// link, then checks the open file itself: a regular file of the running
// user with one link. A file that fails a check is closed untouched.
// Without O_CREAT, a missing file gives (nil, nil).
func openFile(d *os.File, path, name string, flags int) (*os.File, error) {
	// O_NONBLOCK keeps a planted FIFO from blocking the open; it is
	// cleared before the file is used.
	fd, err := syscall.Openat(int(d.Fd()), name, flags|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		switch {
		case flags&syscall.O_CREAT == 0 && errors.Is(err, syscall.ENOENT):
			return nil, nil
		case errors.Is(err, syscall.ELOOP):
			return nil, unsafeFile(path, "is a symbolic link, which could make the deploy overwrite its target; it was left alone")
		}
		return nil, fmt.Errorf("failed to open lock file %s: %w", path, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("failed to stat lock file %s: %w", path, err)
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
		return nil, unsafeFile(path, bad)
	}
	// A file of ours readable by others (from an older bluegreen, which
	// made it 0644) would let them open and hold the lock.
	if st.Mode&0o077 != 0 {
		if err := syscall.Fchmod(fd, 0o600); err != nil {
			syscall.Close(fd)
			return nil, fmt.Errorf("failed to make lock file %s private: %w", path, err)
		}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("failed to open lock file %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

func unsafeFile(path, what string) error {
	return fmt.Errorf("%w: lock file %s %s. Remove it (rm %s) and find out who made it; bluegreen creates the file itself", ErrUnsafe, path, what, path)
}

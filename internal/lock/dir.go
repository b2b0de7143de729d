package lock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/privdir"
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
// it (see package privdir). With create, a missing dir is made with mode
// 0700; without, a missing dir gives (nil, nil). The lock file is then
// opened relative to the returned directory, so the directory checked is
// the one used even if its path is renamed in between.
func openDir(dir string, create bool) (*privdir.Dir, error) {
	d, err := privdir.Open(dir, create, "lock directory")
	var u *privdir.UnsafeError
	if errors.As(err, &u) {
		return nil, fmt.Errorf("%w: %w. Point BLUEGREEN_LOCK_DIR at a directory only uid %d can write (mode 0700), or unset it to use %s, which bluegreen creates that way",
			ErrUnsafe, u, os.Geteuid(), DefaultDir)
	}
	return d, err
}

// openFile opens the lock file name in d without following a symbolic
// link, and checks the open file: a regular file of the running user with
// one link. Without O_CREAT, a missing file gives (nil, nil).
func openFile(d *privdir.Dir, path, name string, flags int) (*os.File, error) {
	f, err := d.OpenFile(name, flags, "lock file")
	var u *privdir.UnsafeError
	if errors.As(err, &u) {
		return nil, fmt.Errorf("%w: %w. Remove it (rm %s) and find out who made it; bluegreen creates the file itself", ErrUnsafe, u, path)
	}
	return f, err
}

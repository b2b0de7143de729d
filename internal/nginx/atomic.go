package nginx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// defaultIncludeMode is the mode of an include that did not exist before:
// nginx's master reads it as root, but other tools (and humans) read it too.
const defaultIncludeMode fs.FileMode = 0o644

// fileOps are the file system calls whose failure the tests inject.
type fileOps struct {
	rename  func(oldpath, newpath string) error
	syncDir func(dir string) error
}

func (o *fileOps) renameFile(oldpath, newpath string) error {
	if o != nil && o.rename != nil {
		return o.rename(oldpath, newpath)
	}
	return os.Rename(oldpath, newpath)
}

func (o *fileOps) syncDirectory(dir string) error {
	if o != nil && o.syncDir != nil {
		return o.syncDir(dir)
	}
	return syncDir(dir)
}

// resolveInclude follows a symlinked include to the file it points at, so
// that the rename replaces that file instead of turning the link into a
// regular file behind the user's back.
func resolveInclude(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return path, nil // a missing include is created where it was asked for
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return path, nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("failed to resolve symlinked include %s: %w", path, err)
	}
	return real, nil
}

// writeFileAtomic replaces path with data so that a reader (nginx -t, a
// reload, a crash and reboot) sees either the old file or the new one,
// never a half-written include: a temp file in the same directory, fsync,
// rename, fsync of the directory. The temp name starts with a dot and does
// not end in .conf, so an "include conf.d/*.conf" glob never reads it. The
// previous file's mode and, where allowed, owner are kept.
func writeFileAtomic(path string, data []byte, ops *fileOps) (err error) {
	path, err = resolveInclude(path)
	if err != nil {
		return err
	}
	mode := defaultIncludeMode
	var owner *syscall.Stat_t // the previous file's, if there was one
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		owner, _ = fi.Sys().(*syscall.Stat_t)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".bluegreen-*")
	if err != nil {
		return fmt.Errorf("failed to create temp file next to %s: %w", path, err)
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = f.Close()
			}
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("failed to write %s: %w", tmp, err)
	}
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("failed to set mode of %s: %w", tmp, err)
	}
	if owner != nil {
		// Only root may give a file away; anyone else keeps their own
		// ownership, which nginx's root master can still read.
		if err := f.Chown(int(owner.Uid), int(owner.Gid)); err != nil && !errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("failed to set owner of %s: %w", tmp, err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("failed to sync %s: %w", tmp, err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return fmt.Errorf("failed to close %s: %w", tmp, err)
	}
	if err := ops.renameFile(tmp, path); err != nil {
		return fmt.Errorf("failed to rename %s to %s: %w", tmp, path, err)
	}
	if err := ops.syncDirectory(dir); err != nil {
		return err
	}
	return nil
}

// removeFileDurably removes path and syncs its directory, for restoring
// "there was no include" after a failed first switch.
func removeFileDurably(path string) error {
	path, err := resolveInclude(path)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("failed to remove %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename or remove in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("failed to open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("failed to sync directory %s: %w", dir, err)
	}
	return nil
}

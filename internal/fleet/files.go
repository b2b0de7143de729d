package fleet

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/compose-spec/compose-go/v2/template"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
)

// Bundle is what a fleet deploy reads from working-directory, to ship to
// every host: the compose files of both colors, the env file, and the
// files the compose files name in working-directory (env_file entries,
// bind-mounted files and directories, configs and secrets files, included
// and extended compose files). Paths are relative to working-directory,
// and the deploy runs on each host in a directory laid out the same way.
// A path outside working-directory is left alone: an absolute one is a
// path on the host (a host-specific env file, /etc/ssl), which must exist
// on every host; a relative one that climbs out is refused, since it
// would name nothing on the host; so is a path inside working-directory
// that is, or passes through, a symbolic link out of it (a checkout's
// s.txt -> /proc/self/environ would ship the runner's environment).
type Bundle struct {
	Files []hosthelper.File
	// Compose maps each color to its compose files, relative.
	Compose map[color.Color][]string
	// EnvFile is the env-file input, relative; empty if none.
	EnvFile string
	Size    int
	// Vars are the variables the compose and env files take from the
	// environment: only those of the runner's reach a host (HostEnv).
	Vars map[string]bool
}

// MaxBundleFiles caps how many files a deploy ships.
const MaxBundleFiles = 2000

// A fileKind says who reads a shipped file, which sets its mode on the
// host. Every directory of a rollout on the host is private to root
// (hosthelper.DeployDir), so the mode only matters through a bind mount.
type fileKind int

const (
	// deployFile is read by the deploy alone (compose and env files):
	// 0600, and the variables it names are forwarded.
	deployFile fileKind = iota
	// containerFile is mounted into a container (a bind mount, a config,
	// a secret), where an app running as another user may read it: it
	// keeps its mode, less group and other write.
	containerFile
)

// kindOf maps what a compose file calls a path to its fileKind.
func kindOf(what string) fileKind {
	switch what {
	case "bind mount source", "configs file", "secrets file":
		return containerFile
	}
	return deployFile
}

// CollectFiles gathers a deploy's files. env is the environment the
// compose files are interpolated with: a path like ${CONF_DIR}/app.env is
// read as the deploy would read it.
func CollectFiles(cfg *config.Config, env map[string]string) (*Bundle, error) {
	c := &collector{root: filepath.Clean(cfg.WorkDir), env: env, seen: map[string]bool{}, b: &Bundle{Compose: map[color.Color][]string{}, Vars: map[string]bool{}}}
	real, err := filepath.EvalSymlinks(c.root)
	if err != nil {
		return nil, fmt.Errorf("%w: working-directory %s cannot be read: %v", config.ErrInvalid, c.root, err)
	}
	c.real = real
	for _, col := range color.All {
		lookup := c.lookup(col, cfg.Ports[col])
		for _, f := range cfg.Files[col] {
			rel, err := c.add(f, "compose file")
			if err != nil {
				c.problems = append(c.problems, err.Error())
				continue
			}
			c.b.Compose[col] = append(c.b.Compose[col], rel)
			c.compose(f, c.root, lookup)
		}
	}
	if cfg.EnvFile != "" {
		rel, err := c.add(cfg.EnvFile, "env-file")
		if err != nil {
			c.problems = append(c.problems, err.Error())
		}
		c.b.EnvFile = rel
	} else if st, err := os.Lstat(filepath.Join(c.root, ".env")); err == nil && st.Mode().Type()&fs.ModeDir == 0 {
		// compose reads .env of the working directory by default.
		if _, err := c.add(filepath.Join(c.root, ".env"), "default env file"); err != nil {
			c.problems = append(c.problems, err.Error())
		}
	}
	if len(c.problems) > 0 {
		sort.Strings(c.problems)
		return nil, fmt.Errorf("%w: %s", config.ErrInvalid, strings.Join(dedupe(c.problems), "; "))
	}
	sort.Slice(c.b.Files, func(i, j int) bool { return c.b.Files[i].Path < c.b.Files[j].Path })
	return c.b, nil
}

type collector struct {
	root string // working-directory, as given
	real string // working-directory with every link resolved
	env  map[string]string
	seen map[string]bool
	b    *Bundle
	// walking holds the real directories being walked, against links
	// that loop.
	walking  map[string]bool
	problems []string
}

// lookup is the interpolation environment of a color, as the deploy's.
func (c *collector) lookup(col color.Color, port int) template.Mapping {
	return func(k string) (string, bool) {
		switch k {
		case "BLUEGREEN_COLOR":
			return col.String(), true
		case "BLUEGREEN_PORT":
			return strconv.Itoa(port), true
		}
		v, ok := c.env[k]
		return v, ok
	}
}

// inside returns p relative to the working directory, or false. It reads
// the path's text only: resolve says where it leads.
func (c *collector) inside(p string) (string, bool) {
	rel, err := filepath.Rel(c.root, filepath.Clean(p))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// resolve returns where p leads, every symbolic link followed, and
// refuses a path that leads out of the working directory.
func (c *collector) resolve(p, what string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("%s %s cannot be read: %w", what, p, err)
	}
	if rel, err := filepath.Rel(c.real, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s %s is a symbolic link (or passes through one) to %s, outside working-directory %s: refusing to ship it, since it would send that file to every host; copy the file into working-directory instead", what, p, real, c.root)
	}
	return real, nil
}

// add ships the file or directory at p (absolute) and returns its path
// relative to the working directory.
func (c *collector) add(p, what string) (string, error) {
	rel, ok := c.inside(p)
	if !ok {
		return "", fmt.Errorf("%s %s is outside working-directory %s: a fleet deploy ships working-directory's files only; move it inside", what, p, c.root)
	}
	if c.seen[rel] {
		return rel, nil
	}
	real, err := c.resolve(p, what)
	if err != nil {
		return "", err
	}
	st, err := os.Lstat(real)
	if err != nil {
		return "", fmt.Errorf("%s %s cannot be read: %w", what, p, err)
	}
	if st.IsDir() {
		c.walking = map[string]bool{}
		if err := c.walk(real, rel, what); err != nil {
			return "", fmt.Errorf("%s %s: %w", what, p, err)
		}
		c.seen[rel] = true
		return rel, nil
	}
	return rel, c.addFile(real, rel, what)
}

// walk ships the files of the real directory dir as rel/...; a link in it
// is followed when it stays inside the working directory.
func (c *collector) walk(dir, rel, what string) error {
	if c.walking[dir] {
		return fmt.Errorf("%s is reached again through a symbolic link that loops", rel)
	}
	c.walking[dir] = true
	defer delete(c.walking, dir)
	return filepath.WalkDir(dir, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		sub, _ := filepath.Rel(dir, q)
		name := path.Join(rel, filepath.ToSlash(sub))
		switch {
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.IsDir():
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			real, err := c.resolve(q, what)
			if err != nil {
				return err
			}
			if st, err := os.Lstat(real); err == nil && st.IsDir() {
				return c.walk(real, name, what)
			}
			return c.addFile(real, name, what)
		}
		return c.addFile(q, name, what)
	})
}

// addFile ships the file at real (no link in its path) as rel.
func (c *collector) addFile(real, rel, what string) error {
	if c.seen[rel] {
		return nil
	}
	st, err := os.Lstat(real)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", rel)
	}
	if len(c.b.Files) >= MaxBundleFiles {
		return fmt.Errorf("more than %d files to ship: a fleet deploy ships the compose files and what they mount from working-directory; mount fewer files, or bake them into the image", MaxBundleFiles)
	}
	if c.b.Size+int(st.Size()) > hosthelper.MaxFiles {
		return fmt.Errorf("more than %d MiB of files to ship: bake large files into the image instead of mounting them", hosthelper.MaxFiles>>20)
	}
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(hosthelper.MaxFiles-c.b.Size)+1))
	if err != nil {
		return err
	}
	if c.b.Size+len(data) > hosthelper.MaxFiles {
		return fmt.Errorf("more than %d MiB of files to ship: bake large files into the image instead of mounting them", hosthelper.MaxFiles>>20)
	}
	mode := uint32(0o600)
	if kindOf(what) == containerFile {
		mode = uint32(st.Mode().Perm() &^ 0o022)
	} else {
		c.addVars(string(data), strings.Contains(what, "env"))
	}
	c.seen[rel] = true
	c.b.Size += len(data)
	c.b.Files = append(c.b.Files, hosthelper.File{Path: rel, Mode: mode, Data: data})
	return nil
}

package hosthelper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/privdir"
)

// FilesRoot holds the files fleet deploys ship to a host, one directory
// per project and rollout: <FilesRoot>/<project>/<rollout id>/. They must
// outlive the helper: the deployed colors' bind mounts and compose labels
// (com.docker.compose.project.working_dir, .config_files) point into
// them, and a later rollback loads them again. It sits beside the
// projects' deploy histories (package ledger) in /var/lib/bluegreen,
// under a name no compose project can have; only root can enter either
// (mode 0700), as privdir checks.
const FilesRoot = "/var/lib/bluegreen/_deploys"

// DeployDir is the host directory of a rollout's files.
func DeployDir(project, rolloutID string) string {
	return path.Join(FilesRoot, project, rolloutID)
}

// dirName is what a project name or rollout id must look like to become a
// directory name.
var dirName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)

// keepDirs is how many of a project's newest deploy directories are kept
// besides those the project's containers still use.
const keepDirs = 3

// pruneAge is how old an unused deploy directory must be before it is
// removed: a status rollout, which takes no lock, may be reading one.
const pruneAge = time.Hour

// writeFiles writes a rollout's files into dir, a DeployDir under root
// (FilesRoot), on the host (after the chroot). root, the project's
// directory and dir are created private to the running user (root),
// repaired when an older bluegreen left them readable by others, and
// checked; below them only that user can create anything, so the files
// are written with plain calls, each through a temp file renamed into
// place. A file keeps the mode the runner gave it (0600 for what only the
// deploy reads) less group and other write; a directory inside dir is
// 0700, or 0755 when it holds a file others may read (a file mounted into
// a container whose app runs as another user), which dir itself keeps
// from the host's other users.
func writeFiles(root, dir string, files []File) error {
	rel, ok := strings.CutPrefix(path.Clean(dir), root+"/")
	project, id, ok2 := strings.Cut(rel, "/")
	if !ok || !ok2 || !dirName.MatchString(project) || !dirName.MatchString(id) {
		return fmt.Errorf("the deploy directory %s is not %s/<project>/<rollout id>", dir, root)
	}
	// The parent is checked too: a user who could write it could swap
	// the root for a link after its own check.
	for _, p := range []string{path.Dir(root), root, path.Join(root, project), dir} {
		d, err := privdir.Open(p, true, "deploy files directory")
		if err != nil {
			return err
		}
		d.Close()
	}
	total := 0
	for _, f := range files {
		total += len(f.Data)
		if total > MaxFiles {
			return fmt.Errorf("the deploy's files are larger than %d bytes", MaxFiles)
		}
		name, err := localPath(f.Path)
		if err != nil {
			return err
		}
		full := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			return fmt.Errorf("failed to create the directory of %s: %w", full, err)
		}
		mode := os.FileMode(f.Mode & 0o755)
		if mode&0o044 != 0 {
			for d := filepath.Dir(full); d != dir; d = filepath.Dir(d) {
				if err := os.Chmod(d, 0o755); err != nil {
					return fmt.Errorf("failed to open the directory %s to the files mounted from it: %w", d, err)
				}
			}
		}
		tmp := filepath.Join(filepath.Dir(full), ".bluegreen-tmp-"+filepath.Base(full))
		_ = os.Remove(tmp)
		if err := os.WriteFile(tmp, f.Data, mode); err != nil {
			return fmt.Errorf("failed to write %s: %w", full, err)
		}
		if err := os.Chmod(tmp, mode); err != nil {
			return fmt.Errorf("failed to write %s: %w", full, err)
		}
		if err := os.Rename(tmp, full); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("failed to write %s: %w", full, err)
		}
	}
	return nil
}

// localPath checks a shipped file's path: relative, slash-separated,
// inside its directory.
func localPath(p string) (string, error) {
	clean := path.Clean(p)
	if p == "" || path.IsAbs(p) || clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("refusing to write the shipped file %q: its path must stay inside the deploy directory", p)
	}
	return filepath.FromSlash(clean), nil
}

// pruneDirs removes a project's deploy directories that nothing uses any
// more: not current, not named by any of the project's containers (in any
// state: a color kept stopped for a rollback still needs its files), not
// among the keepDirs newest, and older than pruneAge. Problems are only
// reported: the deploy goes on.
func pruneDirs(ctx context.Context, dockerHost, current string, warnf func(string, ...any)) {
	projectDir := path.Dir(current)
	entries, err := os.ReadDir(projectDir)
	if err != nil || len(entries) <= keepDirs {
		return
	}
	if dockerHost == "" {
		dockerHost = client.DefaultDockerHost
	}
	docker, err := client.NewClientWithOpts(client.WithHost(dockerHost), client.WithAPIVersionNegotiation())
	if err != nil {
		return
	}
	defer docker.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.docker.compose.project.working_dir"))})
	if err != nil {
		warnf("failed to list containers to prune old deploy directories in %s: %v", projectDir, err)
		return
	}
	used := map[string]bool{current: true}
	for _, c := range list {
		used[path.Clean(c.Labels["com.docker.compose.project.working_dir"])] = true
	}
	// Rollout ids start with their UTC time, so names sort by age.
	var names []string
	for _, e := range entries {
		if e.IsDir() && dirName.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	for i, name := range names {
		dir := path.Join(projectDir, name)
		if used[dir] || i >= len(names)-keepDirs {
			continue
		}
		st, err := os.Lstat(dir)
		if err != nil || time.Since(st.ModTime()) < pruneAge {
			continue
		}
		if err := os.RemoveAll(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			warnf("failed to remove the old deploy directory %s: %v", dir, err)
		}
	}
}

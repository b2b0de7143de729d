package throwaway

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
)

// RemoveProject force-removes every container, network and volume that
// carries compose's label for project, whichever tool created them. It is
// for cleaning up after tests and demos; errors are ignored, since what it
// removes may already be gone.
func RemoveProject(docker client.APIClient, project string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	byLabel := filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+project))
	if list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: byLabel}); err == nil {
		for _, c := range list {
			_ = docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
	if list, err := docker.NetworkList(ctx, network.ListOptions{Filters: byLabel}); err == nil {
		for _, n := range list {
			_ = docker.NetworkRemove(ctx, n.ID)
		}
	}
	if list, err := docker.VolumeList(ctx, volume.ListOptions{Filters: byLabel}); err == nil {
		for _, v := range list.Volumes {
			_ = docker.VolumeRemove(ctx, v.Name, true)
		}
	}
}

// CopyDir copies the regular files and directories under src to dst, so
// that a project's binds land in a temporary directory rather than in the
// repository.
func CopyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

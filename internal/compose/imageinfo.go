package compose

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
)

// ImageInfo is what the host knows of an image: its id and the digests
// it can be pulled again by (repo@sha256:…, empty for an image built here
// and never pushed).
type ImageInfo struct {
	ID          string
	RepoDigests []string
}

// ImageInfo inspects the image ref (a reference or an id). An image that
// is not present gives ErrImageMissing.
func (e *Engine) ImageInfo(ctx context.Context, ref string) (ImageInfo, error) {
	info, err := e.Docker.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return ImageInfo{}, fmt.Errorf("failed to find image %s: %w", ref, ErrImageMissing)
	}
	if err != nil {
		return ImageInfo{}, fmt.Errorf("failed to inspect image %s: %w", ref, err)
	}
	return ImageInfo{ID: info.ID, RepoDigests: info.RepoDigests}, nil
}

// RemoveImage removes the reference ref (a tag or repo@digest), as
// `docker rmi <ref>` does without --force: the image goes with its last
// reference; an image other references still name stays under those; and
// the daemon refuses, keeping it, while a container (running or stopped)
// uses it.
func (e *Engine) RemoveImage(ctx context.Context, ref string) error {
	if _, err := e.Docker.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true}); err != nil {
		return fmt.Errorf("failed to remove image %s: %w", ref, err)
	}
	return nil
}

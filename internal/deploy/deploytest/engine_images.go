package deploytest

// Engine: the images on the host, pulled, inspected and removed.

import (
	"context"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/pull"
)

// EnsureImages makes every service's image present, as a pull would, with
// an id derived from its reference.
func (f *Engine) EnsureImages(ctx context.Context, p *types.Project, _ pull.Policy, _ compose.Credentials) error {
	if err := f.enter(ctx, "EnsureImages", p.Name, true); err != nil {
		return err
	}
	for _, name := range p.ServiceNames() {
		ref := p.Services[name].Image
		if !f.HasImage(ref) {
			// With PullDigests, a pulled image has a repo digest to pull
			// it again by, as one from a registry; else it is like a
			// local build.
			digest := ""
			if f.PullDigests && !strings.HasPrefix(ref, "sha256:") {
				digest = repoOf(ref) + "@" + ImageID(ref)
			}
			f.SetImage(ref, ImageID(ref), digest)
		}
	}
	return nil
}

// repoOf is ref without its tag or digest.
func repoOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// ImageID is the id Engine gives an image it pulls.
func ImageID(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return ref
	}
	return "sha256:" + fmt.Sprintf("%064x", fnvHash(ref))
}

func fnvHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// SetImage makes ref present on the host as image id (digest, when not
// empty, is its repo digest).
func (f *Engine) SetImage(ref, id, digest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.images == nil {
		f.images = map[string]compose.ImageInfo{}
	}
	info := compose.ImageInfo{ID: id}
	if digest != "" {
		info.RepoDigests = []string{digest}
	}
	f.images[ref] = info
	f.images[id] = info
}

// DropImage makes the host lose ref, and the image it names by its id,
// as a docker image prune would; containers that use it are left alone.
func (f *Engine) DropImage(ref string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if info, ok := f.images[ref]; ok {
		delete(f.images, info.ID)
	}
	delete(f.images, ref)
}

// HasImage reports whether ref is present.
func (f *Engine) HasImage(ref string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.images[ref]
	return ok
}

// ImageInfo answers from the images SetImage made present.
func (f *Engine) ImageInfo(ctx context.Context, ref string) (compose.ImageInfo, error) {
	if err := f.enter(ctx, "ImageInfo", ref, false); err != nil {
		return compose.ImageInfo{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	info, ok := f.images[ref]
	if !ok {
		return compose.ImageInfo{}, fmt.Errorf("failed to find image %s: %w", ref, compose.ErrImageMissing)
	}
	return info, nil
}

// RemoveImage removes ref, refusing one a container uses.
func (f *Engine) RemoveImage(ctx context.Context, ref string) error {
	if err := f.enter(ctx, "RemoveImage", ref, true); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	info, ok := f.images[ref]
	if !ok {
		return fmt.Errorf("failed to remove image %s: no such image", ref)
	}
	for _, all := range []map[string][]compose.Container{f.containers, f.aside} {
		for _, cs := range all {
			for _, c := range cs {
				if c.ImageID == info.ID {
					return fmt.Errorf("failed to remove image %s: conflict: container %s uses it", ref, c.Name)
				}
			}
		}
	}
	delete(f.images, ref)
	return nil
}

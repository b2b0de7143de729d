package fleet

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// HelperImage is the image a fleet's helpers run on every host: one layer
// holding the running binary at /bluegreen, so that every host runs
// exactly the code the runner runs. The action's own image is that binary
// on scratch and nothing else, so this image is the action image's
// content; it is made from the binary rather than copied from the runner's
// daemon, so that a fleet needs neither the runner's Docker socket nor a
// registry. Its tag is the binary's hash, so a host that has it already
// (an earlier rollout, another host sharing the daemon) gets nothing.
type HelperImage struct {
	Tag    string // bluegreen-helper:<first 16 hex digits of the sha256>
	Exe    string // the binary's path in the image
	binary []byte
}

// HelperRepo is the repository of helper images on the hosts.
const HelperRepo = "bluegreen-helper"

// LabelHelper marks helper images and containers a fleet made.
const LabelHelper = "io.github.bluegreen-action.fleet"

// NewHelperImage reads the binary at path (the running executable) and
// checks that it can run in an image without a libc: a dynamically linked
// build (CGO_ENABLED=1) could not start in the helper.
func NewHelperImage(path string) (*HelperImage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read the running binary %s to make the helper image: %w", path, err)
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("failed to read the running binary %s as a Linux executable: %w; the fleet's helpers run this binary on the hosts", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("the running binary %s is dynamically linked: the fleet's helpers run it on the hosts in an image without a libc; build it with CGO_ENABLED=0 (the action's image is)", path)
		}
	}
	sum := sha256.Sum256(data)
	return &HelperImage{Tag: HelperRepo + ":" + hex.EncodeToString(sum[:8]), Exe: "/bluegreen", binary: data}, nil
}

// layer is the image's only layer: the binary, root's, mode 0755.
func (h *HelperImage) layer() (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: h.Exe[1:], Mode: 0o755, Size: int64(len(h.binary)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(h.binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// ensure makes the image present on a daemon: nothing when it is there,
// else an import of the one layer (about the binary's size) through the
// API.
func (h *HelperImage) ensure(ctx context.Context, docker client.APIClient) (imported bool, err error) {
	if _, err := docker.ImageInspect(ctx, h.Tag); err == nil {
		return false, nil
	}
	layer, err := h.layer()
	if err != nil {
		return false, fmt.Errorf("failed to pack the helper image: %w", err)
	}
	rc, err := docker.ImageImport(ctx, image.ImportSource{Source: layer, SourceName: "-"}, h.Tag, image.ImportOptions{
		Changes: []string{`ENTRYPOINT ["` + h.Exe + `"]`, "LABEL " + LabelHelper + "=helper"},
	})
	if err != nil {
		return false, fmt.Errorf("failed to load the helper image %s: %w", h.Tag, err)
	}
	defer rc.Close()
	out, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	if bytes.Contains(out, []byte(`"errorDetail"`)) {
		return false, fmt.Errorf("failed to load the helper image %s: %s", h.Tag, bytes.TrimSpace(out))
	}
	if _, err := docker.ImageInspect(ctx, h.Tag); err != nil {
		return false, fmt.Errorf("the helper image %s is missing after its import: %w", h.Tag, err)
	}
	return true, nil
}

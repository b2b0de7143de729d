package compose

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// Secrets and configs are mapped as docker compose v2 maps them without a
// swarm (its buildContainerSecretMounts and injectFileReferences): a file:
// source is bind-mounted read-only, its uid, gid and mode ignored (the
// bind shows the host file as it is); an environment: or content: source
// is written into the created container before it starts, owned by
// uid:gid (default 0:0) with mode (default 0444). Secrets go to
// /run/secrets/<name> and configs to /<name> unless target says otherwise.

// fileCopy is a secret or config written into a container before start.
type fileCopy struct {
	Kind, Name string // "secret" or "config", and its key in the file
	Target     string
	Content    []byte
	UID, GID   int
	Mode       int64
	SetOwner   bool // uid or gid given: the engine keeps them
}

// fileObjects returns the bind mounts of a service's file: secrets and
// configs and the writes of the others.
func fileObjects(p *types.Project, s types.ServiceConfig) ([]mount.Mount, []fileCopy, error) {
	var mounts []mount.Mount
	var copies []fileCopy
	add := func(kind string, ref types.FileReferenceConfig, def types.FileObjectConfig) error {
		target := fileTarget(kind, ref)
		if def.File != "" {
			mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: def.File, Target: target, ReadOnly: true})
			return nil
		}
		content := def.Content
		if def.Environment != "" {
			v, ok := p.Environment[def.Environment]
			if !ok {
				return fmt.Errorf("failed to read %s %s of service %s: the environment variable %s is not set", kind, ref.Source, s.Name, def.Environment)
			}
			content = v
		}
		c := fileCopy{Kind: kind, Name: ref.Source, Target: target, Content: []byte(content), Mode: 0o444}
		if ref.Mode != nil {
			c.Mode = int64(*ref.Mode)
		}
		var err error
		if ref.UID != "" {
			if c.UID, err = strconv.Atoi(ref.UID); err != nil {
				return fmt.Errorf("failed to read %s %s of service %s: uid %q is not a number", kind, ref.Source, s.Name, ref.UID)
			}
			c.SetOwner = true
		}
		if ref.GID != "" {
			if c.GID, err = strconv.Atoi(ref.GID); err != nil {
				return fmt.Errorf("failed to read %s %s of service %s: gid %q is not a number", kind, ref.Source, s.Name, ref.GID)
			}
			c.SetOwner = true
		}
		copies = append(copies, c)
		return nil
	}
	for _, ref := range s.Secrets {
		if err := add("secret", types.FileReferenceConfig(ref), types.FileObjectConfig(p.Secrets[ref.Source])); err != nil {
			return nil, nil, err
		}
	}
	for _, ref := range s.Configs {
		if err := add("config", types.FileReferenceConfig(ref), types.FileObjectConfig(p.Configs[ref.Source])); err != nil {
			return nil, nil, err
		}
	}
	return mounts, copies, nil
}

// fileTarget is where a secret or config appears in the container.
func fileTarget(kind string, ref types.FileReferenceConfig) string {
	dir := "/"
	if kind == "secret" {
		dir = "/run/secrets/"
	}
	switch {
	case ref.Target == "":
		return dir + ref.Source
	case path.IsAbs(ref.Target):
		return ref.Target
	}
	return dir + ref.Target
}

// appendUnlessTarget adds the secret and config mounts whose target no
// volume of the service already mounts; the volume wins, as in docker
// compose.
func appendUnlessTarget(s types.ServiceConfig, mounts, extra []mount.Mount) []mount.Mount {
	taken := map[string]bool{}
	for _, v := range s.Volumes {
		taken[v.Target] = true
	}
	for _, m := range extra {
		if !taken[m.Target] {
			mounts = append(mounts, m)
			taken[m.Target] = true
		}
	}
	return mounts
}

// checkFileSources fails before anything is created when a file: secret
// or config is missing: the bind mount would fail at create, naming the
// path but not the secret.
func checkFileSources(p *types.Project, s types.ServiceConfig) error {
	check := func(kind, name, file string) error {
		if file == "" {
			return nil
		}
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("failed to find %s %s of service %s: %w: create the file, or give the %s another source", kind, name, s.Name, err, kind)
		}
		return nil
	}
	for _, ref := range s.Secrets {
		if err := check("secret", ref.Source, p.Secrets[ref.Source].File); err != nil {
			return err
		}
	}
	for _, ref := range s.Configs {
		if err := check("config", ref.Source, p.Configs[ref.Source].File); err != nil {
			return err
		}
	}
	return nil
}

// copyFiles writes a created container's environment: and content:
// secrets and configs, one tar each.
func (e *Engine) copyFiles(ctx context.Context, id string, copies []fileCopy) error {
	for _, c := range copies {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		hdr := &tar.Header{Name: c.Target, Size: int64(len(c.Content)), Mode: c.Mode, ModTime: time.Now(), Uid: c.UID, Gid: c.GID, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(c.Content); err != nil {
			return err
		}
		if err := tw.Close(); err != nil {
			return err
		}
		err := e.Docker.CopyToContainer(ctx, id, "/", &b, container.CopyToContainerOptions{CopyUIDGID: c.SetOwner})
		if err != nil {
			return fmt.Errorf("failed to write %s %s to %s: %w", c.Kind, c.Name, c.Target, err)
		}
	}
	return nil
}

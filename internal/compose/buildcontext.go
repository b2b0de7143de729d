package compose

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// inlineDockerfile is the name a dockerfile_inline, or a Dockerfile from
// outside the context, gets inside the context tar, as the docker CLI
// adds a Dockerfile read from stdin.
const inlineDockerfile = ".bluegreen.Dockerfile"

// contextTar streams dir as the tar of a build context the way the docker
// CLI sends it to the classic builder: .dockerignore is honoured
// (patterns, ! exceptions, comments), the Dockerfile and .dockerignore are
// sent even when ignored, owners are 0:0, symbolic links are kept as
// links, and sockets, devices and pipes are left out. dockerfile is the
// Dockerfile's path relative to dir; extra, when not nil, is added as
// inlineDockerfile. sent, when not nil, receives the number of bytes of
// file content written.
func contextTar(dir, dockerfile string, extra []byte, sent *atomic.Int64) (io.ReadCloser, error) {
	excludes, err := readDockerignore(dir)
	if err != nil {
		return nil, err
	}
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", filepath.Join(dir, ".dockerignore"), err)
	}
	always := map[string]bool{".dockerignore": true, filepath.ToSlash(filepath.Clean(dockerfile)): true}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("failed to read the build context: %w", err)
			}
			rel, err := filepath.Rel(dir, path)
			if err != nil || rel == "." {
				return err
			}
			rel = filepath.ToSlash(rel)
			if !always[rel] {
				skip, err := pm.MatchesOrParentMatches(rel)
				if err != nil {
					return fmt.Errorf("failed to match %s against .dockerignore: %w", rel, err)
				}
				if skip {
					if d.IsDir() && !exceptionUnder(pm, rel) {
						return filepath.SkipDir
					}
					return nil
				}
			}
			return addToTar(tw, path, rel, d, sent)
		})
		if err == nil && extra != nil {
			err = writeTarFile(tw, inlineDockerfile, extra, 0o644)
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// exceptionUnder reports whether an exception pattern (!dir/keep) may
// match below the ignored directory dir, which then must be walked.
func exceptionUnder(pm *patternmatcher.PatternMatcher, dir string) bool {
	if !pm.Exclusions() {
		return false
	}
	for _, p := range pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", dir+"/") {
			return true
		}
	}
	return false
}

// readDockerignore reads the context's .dockerignore, if any.
func readDockerignore(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read .dockerignore: %w", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", f.Name(), err)
	}
	return patterns, nil
}

func addToTar(tw *tar.Writer, path, rel string, d fs.DirEntry, sent *atomic.Int64) error {
	info, err := d.Info()
	if err != nil {
		return fmt.Errorf("failed to read the build context: %w", err)
	}
	link := ""
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(path); err != nil {
			return fmt.Errorf("failed to read the build context: %w", err)
		}
	case info.IsDir(), info.Mode().IsRegular():
	default:
		return nil // a socket, device or pipe has no place in an image build
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return fmt.Errorf("failed to read the build context: %w", err)
	}
	hdr.Name = rel
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("failed to read the build context: %w", err)
	}
	defer f.Close()
	n, err := io.Copy(tw, f)
	if sent != nil {
		sent.Add(n)
	}
	return err
}

func writeTarFile(tw *tar.Writer, name string, content []byte, mode int64) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(content)
	return err
}

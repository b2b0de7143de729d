package nginx

// A candidate copy of nginx's config, to test a new include with nginx -t
// before the live one is touched. The user's config names the include by
// absolute path, so the copy is the whole config as nginx -T prints it,
// rebuilt under a temp directory with absolute include paths pointing into
// that directory and the include replaced; everything else the config
// names (certificates, mime types not included, log paths) is read where
// it is, and the files of the config's own directory that nginx -T does
// not print are linked in, for paths relative to it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxMirrorEntries bounds the links made for the config directory.
const maxMirrorEntries = 10000

// candidate is a rebuilt config under root.
type candidate struct {
	root string
	main string // the main file inside root
}

// buildCandidate writes the dump's files under a new temp directory in
// dir (os.TempDir() when empty), with includePath's content replaced by
// next.
func buildCandidate(dir, dump, includePath string, next []byte) (*candidate, error) {
	files := splitDump(dump)
	if len(files) == 0 {
		return nil, errors.New("nginx -T printed no configuration file")
	}
	root, err := os.MkdirTemp(dir, "bluegreen-candidate-")
	if err != nil {
		return nil, fmt.Errorf("failed to create a candidate directory: %w", err)
	}
	c := &candidate{root: root, main: filepath.Join(root, files[0].path)}
	fail := func(err error) (*candidate, error) {
		c.remove()
		return nil, err
	}
	written := map[string]bool{}
	for _, f := range files {
		if !filepath.IsAbs(f.path) {
			return fail(fmt.Errorf("nginx -T names a file by a relative path %q", f.path))
		}
		out, err := rewriteIncludes(f.text, root)
		if err != nil {
			return fail(fmt.Errorf("failed to read %s: %w", f.path, err))
		}
		if f.path == includePath {
			out = candidateInclude(next, root)
		}
		if err := c.write(f.path, out); err != nil {
			return fail(err)
		}
		written[f.path] = true
	}
	if !written[includePath] {
		if err := c.write(includePath, candidateInclude(next, root)); err != nil {
			return fail(err)
		}
		written[includePath] = true
	}
	budget := maxMirrorEntries
	if err := c.link(filepath.Dir(files[0].path), written, &budget); err != nil {
		return fail(err)
	}
	return c, nil
}

func (c *candidate) write(path, text string) error {
	dst := filepath.Join(c.root, path)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("failed to create a candidate directory: %w", err)
	}
	if err := os.WriteFile(dst, []byte(text), 0o600); err != nil {
		return fmt.Errorf("failed to write a candidate file: %w", err)
	}
	return nil
}

// link makes every entry of the original directory dir that the candidate
// lacks a symlink to the original, descending into directories that hold
// written files, so that paths relative to the config's directory resolve.
func (c *candidate) link(dir string, written map[string]bool, budget *int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // an unreadable directory: nginx -t will say what it misses
	}
	for _, e := range entries {
		*budget--
		if *budget < 0 {
			return fmt.Errorf("the config directory %s has more than %d entries", dir, maxMirrorEntries)
		}
		orig := filepath.Join(dir, e.Name())
		if written[orig] {
			continue
		}
		if e.IsDir() && holdsWritten(orig, written) {
			if err := c.link(orig, written, budget); err != nil {
				return err
			}
			continue
		}
		dst := filepath.Join(c.root, orig)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return fmt.Errorf("failed to create a candidate directory: %w", err)
		}
		if err := os.Symlink(orig, dst); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("failed to link %s into the candidate: %w", orig, err)
		}
	}
	return nil
}

func holdsWritten(dir string, written map[string]bool) bool {
	for p := range written {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

func (c *candidate) remove() { _ = os.RemoveAll(c.root) }

// unroot turns candidate paths in nginx's messages back into the real ones.
func (c *candidate) unroot(msg string) string { return strings.ReplaceAll(msg, c.root, "") }

// candidateInclude is the new include as the candidate holds it: with its
// include paths rewritten, or as it is when it does not parse, for nginx
// to reject with its own message.
func candidateInclude(next []byte, root string) string {
	out, err := rewriteIncludes(string(next), root)
	if err != nil {
		return string(next)
	}
	return out
}

// rewriteIncludes points every absolute include argument into root.
// Relative ones already resolve there: nginx takes them relative to the
// main file's directory, which is inside root.
func rewriteIncludes(text, root string) (string, error) {
	stmts, err := parseStmts(text)
	if err != nil {
		return "", err
	}
	var spans [][2]int
	var walk func([]stmt)
	walk = func(ss []stmt) {
		for _, s := range ss {
			if s.name == "include" && len(s.args) == 1 && filepath.IsAbs(s.args[0]) {
				spans = append(spans, s.argSpans[0])
			}
			walk(s.block)
		}
	}
	walk(stmts)
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] > spans[j][0] })
	for _, sp := range spans {
		arg := text[sp[0]:sp[1]]
		toks, _ := tokenize(arg)
		text = text[:sp[0]] + quoteArg(filepath.Join(root, toks[0].text)) + text[sp[1]:]
	}
	return text, nil
}

// candidateTestCmd is testCmd with its config file replaced by main; ok is
// false when testCmd runs no nginx binary this process can tell.
func candidateTestCmd(testCmd []string, main string) ([]string, bool) {
	start := -1
	for i, a := range testCmd {
		if b := filepath.Base(a); b == "nginx" || strings.HasPrefix(b, "nginx-") {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, false
	}
	out := append([]string(nil), testCmd[:start+1]...)
	rest := testCmd[start+1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "-c" {
			i++
			continue
		}
		if strings.HasPrefix(a, "-c") && len(a) > 2 {
			continue
		}
		out = append(out, a)
	}
	return append(out, "-c", main), true
}

// testCandidate runs nginx -t on a candidate with next as the include.
// tested is false when no candidate could be made (why says so); err is
// nginx's rejection of the candidate, wrapping ErrConfigTest.
func (s *Switcher) testCandidate(ctx context.Context, next []byte) (tested bool, why string, err error) {
	if s.Owns != nil {
		return false, "nginx runs in a container, whose config files this process cannot rebuild next to nginx", nil
	}
	dump, ok := dumpCommand(s.TestCmd)
	if !ok {
		return false, "the test command has no -t flag to dump the config with", nil
	}
	res, err := s.run(ctx, dump)
	if err != nil {
		return false, "nginx -T failed: " + err.Error(), nil
	}
	c, err := buildCandidate(s.CandidateDir, res.Stdout, s.IncludePath, next)
	if err != nil {
		return false, err.Error(), nil
	}
	defer c.remove()
	cmd, ok := candidateTestCmd(s.TestCmd, c.main)
	if !ok {
		return false, "the test command does not run an nginx binary", nil
	}
	if _, err := s.run(ctx, cmd); err != nil {
		return true, "", fmt.Errorf("%w: %s", ErrConfigTest, c.unroot(err.Error()))
	}
	return true, "", nil
}

package fleet

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/template"
	"go.yaml.in/yaml/v3"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
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
// would name nothing on the host.
type Bundle struct {
	Files []hosthelper.File
	// Compose maps each color to its compose files, relative.
	Compose map[color.Color][]string
	// EnvFile is the env-file input, relative; empty if none.
	EnvFile string
	Size    int
}

// MaxBundleFiles caps how many files a deploy ships.
const MaxBundleFiles = 2000

// CollectFiles gathers a deploy's files. env is the environment the
// compose files are interpolated with: a path like ${CONF_DIR}/app.env is
// read as the deploy would read it.
func CollectFiles(cfg *config.Config, env map[string]string) (*Bundle, error) {
	c := &collector{root: filepath.Clean(cfg.WorkDir), env: env, seen: map[string]bool{}, b: &Bundle{Compose: map[color.Color][]string{}}}
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
	} else if st, err := os.Stat(filepath.Join(c.root, ".env")); err == nil && st.Mode().IsRegular() {
		// compose reads .env of the working directory by default.
		_, _ = c.add(filepath.Join(c.root, ".env"), "default env file")
	}
	if len(c.problems) > 0 {
		sort.Strings(c.problems)
		return nil, fmt.Errorf("%w: %s", config.ErrInvalid, strings.Join(dedupe(c.problems), "; "))
	}
	sort.Slice(c.b.Files, func(i, j int) bool { return c.b.Files[i].Path < c.b.Files[j].Path })
	return c.b, nil
}

type collector struct {
	root     string
	env      map[string]string
	seen     map[string]bool
	b        *Bundle
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

// inside returns p relative to the working directory, or false.
func (c *collector) inside(p string) (string, bool) {
	rel, err := filepath.Rel(c.root, filepath.Clean(p))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
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
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("%s %s cannot be read: %w", what, p, err)
	}
	if st.IsDir() {
		err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".git" {
					return filepath.SkipDir
				}
				return nil
			}
			if _, err := c.addFile(q); err != nil {
				return err
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", what, p, err)
		}
		c.seen[rel] = true
		return rel, nil
	}
	return c.addFile(p)
}

func (c *collector) addFile(p string) (string, error) {
	rel, ok := c.inside(p)
	if !ok {
		return "", fmt.Errorf("%s is outside working-directory %s", p, c.root)
	}
	if c.seen[rel] {
		return rel, nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	if len(c.b.Files) >= MaxBundleFiles {
		return "", fmt.Errorf("more than %d files to ship: a fleet deploy ships the compose files and what they mount from working-directory; mount fewer files, or bake them into the image", MaxBundleFiles)
	}
	if c.b.Size+int(st.Size()) > hosthelper.MaxFiles {
		return "", fmt.Errorf("more than %d MiB of files to ship: bake large files into the image instead of mounting them", hosthelper.MaxFiles>>20)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	c.seen[rel] = true
	c.b.Size += len(data)
	c.b.Files = append(c.b.Files, hosthelper.File{Path: rel, Mode: uint32(st.Mode().Perm()), Data: data})
	return rel, nil
}

// compose reads the compose file at p and ships the files it names.
// base is the directory its relative paths are read from.
func (c *collector) compose(p, base string, lookup template.Mapping) {
	if st, err := os.Stat(p); err != nil || st.Size() > compose.MaxFileSize {
		return // the deploy's own checks report it
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return // the deploy reports a file that is not YAML
	}
	name := func(raw any) (string, bool) {
		s, ok := raw.(string)
		if !ok || s == "" {
			return "", false
		}
		if v, err := template.Substitute(s, lookup); err == nil {
			s = v
		}
		return s, true
	}
	resolve := func(s string, dir string) string {
		if strings.HasPrefix(s, "~") {
			return ""
		}
		if !filepath.IsAbs(s) {
			s = filepath.Join(dir, s)
		}
		return filepath.Clean(s)
	}
	// ship adds a referenced path: shipped when inside working-directory,
	// left to the host when absolute, refused when relative and outside.
	ship := func(raw any, dir, what string) string {
		s, ok := name(raw)
		if !ok {
			return ""
		}
		abs := resolve(s, dir)
		if abs == "" {
			return ""
		}
		if _, inside := c.inside(abs); !inside {
			if !filepath.IsAbs(s) {
				c.problems = append(c.problems, fmt.Sprintf("%s names %s %s, outside working-directory %s: a fleet deploy ships working-directory's files only; move it inside, or give an absolute path that exists on every host", p, what, s, c.root))
			}
			return ""
		}
		if _, err := os.Stat(abs); err != nil {
			return "" // the deploy reports a missing file; a bind source may be made by Docker
		}
		if _, err := c.add(abs, what); err != nil {
			c.problems = append(c.problems, err.Error())
			return ""
		}
		return abs
	}

	// include: a path, a list of paths, or {path, env_file, project_directory}.
	for _, inc := range list(doc["include"]) {
		switch v := inc.(type) {
		case string:
			if f := ship(v, base, "included compose file"); f != "" {
				c.compose(f, filepath.Dir(f), lookup)
			}
		case map[string]any:
			incBase := base
			if pd, ok := name(v["project_directory"]); ok {
				incBase = resolve(pd, base)
			}
			for _, ip := range list(v["path"]) {
				if f := ship(ip, base, "included compose file"); f != "" {
					dir := incBase
					if _, ok := v["project_directory"]; !ok {
						dir = filepath.Dir(f)
					}
					c.compose(f, dir, lookup)
				}
			}
			for _, ef := range list(v["env_file"]) {
				ship(ef, base, "env file")
			}
		}
	}
	services, _ := doc["services"].(map[string]any)
	for _, raw := range services {
		svc, _ := raw.(map[string]any)
		for _, ef := range list(svc["env_file"]) {
			if m, ok := ef.(map[string]any); ok {
				ef = m["path"]
			}
			ship(ef, base, "env_file")
		}
		for _, vol := range list(svc["volumes"]) {
			switch v := vol.(type) {
			case string:
				src, _, found := strings.Cut(v, ":")
				if found && (strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") || strings.HasPrefix(src, "$")) {
					ship(src, base, "bind mount source")
				}
			case map[string]any:
				if t, _ := v["type"].(string); t == "bind" {
					ship(v["source"], base, "bind mount source")
				}
			}
		}
		if ext, ok := svc["extends"].(map[string]any); ok {
			if f := ship(ext["file"], base, "extended compose file"); f != "" {
				c.compose(f, filepath.Dir(f), lookup)
			}
		}
	}
	for _, top := range []string{"configs", "secrets"} {
		entries, _ := doc[top].(map[string]any)
		for _, raw := range entries {
			if e, ok := raw.(map[string]any); ok {
				ship(e["file"], base, top+" file")
			}
		}
	}
}

// list reads a YAML value that may be one item or a list of them.
func list(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		return t
	default:
		return []any{t}
	}
}

func dedupe(in []string) []string {
	var out []string
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}

package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/template"
	"go.yaml.in/yaml/v3"

	"github.com/bluegreen-action/bluegreen/internal/compose"
)

// compose reads the compose file at p and ships the files it names.
// base is the directory its relative paths are read from.
func (c *collector) compose(p, base string, lookup template.Mapping) {
	real, err := c.resolve(p, "compose file")
	if err != nil {
		return // add reported it
	}
	if st, err := os.Lstat(real); err != nil || !st.Mode().IsRegular() || st.Size() > compose.MaxFileSize {
		return // the deploy's own checks report it
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return // the deploy reports a file that is not YAML
	}
	c.addBareVars(doc)
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
		if _, err := os.Lstat(abs); err != nil {
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

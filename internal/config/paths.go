package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// The inputs that name places: the working directory, the project name
// derived from it or the repository, and each color's compose files.

func (p *parser) workDir(getenv Getenv, cwd string) string {
	dir := p.str("working-directory")
	base := getenv("GITHUB_WORKSPACE")
	if base == "" {
		base = cwd
	}
	if dir == "" {
		dir = base
	} else {
		dir = abs(base, dir)
	}
	if !isDir(dir) {
		p.addf("working-directory %q is not a directory: was the repository checked out (actions/checkout) before this step? It is relative to the workspace", dir)
	}
	return filepath.Clean(dir)
}

var projectNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func (p *parser) projectName(getenv Getenv, workDir string) string {
	if v := p.str("project-name"); v != "" {
		if !projectNameRE.MatchString(v) {
			p.addf("project-name %q is not a valid compose project name: use lower-case letters, digits, - and _, starting with a letter or digit (for example spring-backend)", v)
		} else {
			p.projectNameLength(v, "")
		}
		return v
	}
	from, name := "repository", ""
	if repo := getenv("GITHUB_REPOSITORY"); repo != "" {
		name = repo[strings.LastIndex(repo, "/")+1:]
	} else {
		from, name = "directory", filepath.Base(workDir)
	}
	name = normalizeProjectName(name)
	if name == "" {
		p.addf("project-name is empty and cannot be derived from the repository or directory name: set project-name (for example spring-backend)")
	}
	p.projectNameLength(name, from)
	return name
}

// normalizeProjectName does what docker compose does to a directory name:
// lower-case it and drop characters a project name cannot hold.
func normalizeProjectName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			b.WriteRune(r)
		}
	}
	return strings.TrimLeft(b.String(), "-_")
}

func (p *parser) composeFiles(cfg *Config) {
	blue := splitList(p.str("blue-compose-file"))
	green := splitList(p.str("green-compose-file"))
	shared := splitList(p.str("compose-file"))
	if (len(blue) == 0) != (len(green) == 0) {
		// Only this: compose-file is not what the user meant, so its
		// default's absence would only mislead.
		p.addf("blue-compose-file and green-compose-file must be set together (seed style: docker-compose.blue.yml and docker-compose.green.yml), or neither to use compose-file for both colors")
		return
	}
	if len(shared) == 0 { // only separators, such as ","
		shared = splitList(declared("compose-file").Default)
	}
	if len(blue) > 0 && len(green) > 0 {
		cfg.Files[color.Blue] = p.files("blue-compose-file", cfg.WorkDir, blue)
		cfg.Files[color.Green] = p.files("green-compose-file", cfg.WorkDir, green)
		return
	}
	cfg.SingleFile = true
	files := p.files("compose-file", cfg.WorkDir, shared)
	cfg.Files[color.Blue] = files
	cfg.Files[color.Green] = files
}

func (p *parser) files(name, dir string, list []string) []string {
	out := make([]string, 0, len(list))
	for _, f := range list {
		out = append(out, p.existingFile(name, f, abs(dir, f)))
	}
	return out
}

// splitList splits a newline- or comma-separated input, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func abs(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

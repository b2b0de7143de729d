package compose

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// The action runs as root and ships some files into containers: a file:
// secret or config is bind-mounted, an env_file's values become the
// environment, the Dockerfile is sent to the builder (whose errors and
// output reach the job log). A compose file comes with the commit being
// deployed, a pull request's included, so a link in it such as
// s.txt -> /proc/self/environ would hand the action's own environment
// (its tokens and keys) to the app. Each such file is resolved, links
// and all, and must stay inside the working directory.

// pathProblems refuses the files a project ships into containers that
// resolve outside its working directory. A file that does not exist is
// left to the checks that report it missing.
func pathProblems(p *types.Project) []Problem {
	if p.WorkingDir == "" {
		return nil
	}
	root, err := filepath.EvalSymlinks(p.WorkingDir)
	if err != nil {
		return nil
	}
	var problems []Problem
	outside := func(service, key, what, path string) {
		if path == "" {
			return
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.WorkingDir, path)
		}
		resolved, err := filepath.EvalSymlinks(path)
		if err != nil || within(root, resolved) {
			return
		}
		how := "it is outside"
		if lexical, err := filepath.Abs(path); err == nil && within(p.WorkingDir, lexical) {
			how = "it is a symbolic link that leads outside"
		}
		problems = append(problems, Problem{Service: service, Key: key, Hint: fmt.Sprintf(
			"%s %s: %s the working directory %s; bluegreen ships only files of the working directory into containers (it runs as root, and such a file could be anything on the host): move the file into the working directory", what, relPath(p, path), how, p.WorkingDir)})
	}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		for _, f := range s.EnvFiles {
			outside(name, "env_file", "env file", f.Path)
		}
		for _, ref := range s.Secrets {
			outside(name, "secrets."+ref.Source, "secret file", p.Secrets[ref.Source].File)
		}
		for _, ref := range s.Configs {
			outside(name, "configs."+ref.Source, "config file", p.Configs[ref.Source].File)
		}
		if b := s.Build; b != nil && b.DockerfileInline == "" && !isRemoteContext(b.Context) {
			outside(name, "build.dockerfile", "Dockerfile", dockerfilePath(b))
		}
	}
	return problems
}

// dockerfilePath is where the build's Dockerfile is read from.
func dockerfilePath(b *types.BuildConfig) string {
	df := b.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if !filepath.IsAbs(df) {
		df = filepath.Join(b.Context, df)
	}
	return df
}

// within reports whether path is root or below it.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(os.PathSeparator)) && !filepath.IsAbs(rel)
}

// relPath shows a path inside the working directory relative to it, as
// the compose file names it.
func relPath(p *types.Project, path string) string {
	if rel, ok := strings.CutPrefix(path, p.WorkingDir+string(os.PathSeparator)); ok {
		return rel
	}
	return path
}

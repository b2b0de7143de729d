package compose

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// ErrNoFiles is returned by Load when no compose file is given: there is no
// default file lookup, because guessing which file describes a color is how
// the wrong color gets deployed.
var ErrNoFiles = errors.New("no compose file given")

// LoadOptions says which compose files make up one color's project and what
// they are interpolated with. It mirrors the docker compose command line
// (-p, -f, --project-directory, --env-file, --profile) so a user can
// reproduce any load with the CLI.
type LoadOptions struct {
	// ProjectName is the compose project name, e.g. "myapp-green". Empty
	// means compose's own default (COMPOSE_PROJECT_NAME from Environment,
	// a top-level name:, or the working directory's base name).
	ProjectName string
	// Files are the compose files, merged in order as with several -f.
	// Relative paths are taken from WorkingDir when it is set.
	Files []string
	// WorkingDir is the project directory that relative paths in the files
	// are resolved against. Default: the directory of Files[0].
	WorkingDir string
	// EnvFiles are read for interpolation, like --env-file. Relative paths
	// are taken from the working directory. Default: .env in the working
	// directory if it exists (unless COMPOSE_DISABLE_ENV_FILE is true in
	// Environment), as docker compose does.
	EnvFiles []string
	// Environment is the environment used for interpolation and for
	// `environment:` entries without a value. The caller passes the process
	// environment plus BLUEGREEN_COLOR and BLUEGREEN_PORT; this package never
	// reads the process environment itself. Values here win over EnvFiles.
	Environment map[string]string
	// Profiles are the active profiles, like --profile. Default: the
	// COMPOSE_PROFILES entry of Environment, as docker compose does.
	Profiles []string
}

// Load reads and merges the compose files into a project exactly as docker
// compose would, and labels every service with the compose identity labels
// (project, service, working_dir, config_files, ...) that Up puts on its
// containers. It does not Check the project: the caller decides when to
// report unsupported keys.
func Load(ctx context.Context, opts LoadOptions) (*types.Project, error) {
	files, workDir, err := resolveFiles(opts)
	if err != nil {
		return nil, err
	}
	envFiles, err := resolveEnvFiles(opts, workDir)
	if err != nil {
		return nil, err
	}
	popts, err := projectOptions(opts, files, workDir, envFiles)
	if err != nil {
		return nil, fmt.Errorf("failed to load compose project from %s: %w", strings.Join(files, ", "), err)
	}
	p, err := popts.LoadProject(ctx)
	if err != nil {
		if safe := redact(err); safe != err {
			return nil, safe
		}
		return nil, loadError(ctx, opts, files, workDir, envFiles, err)
	}
	if len(p.Services) == 0 {
		return nil, fmt.Errorf("failed to load compose project from %s: no service is enabled (check profiles)", strings.Join(files, ", "))
	}
	addIdentityLabels(p, len(opts.EnvFiles) > 0, envFiles)
	return p, nil
}

// resolveFiles makes the file paths absolute and checks that each one is a
// regular file no larger than MaxFileSize, so that the error names the file
// rather than a later loader message that may not.
func resolveFiles(opts LoadOptions) ([]string, string, error) {
	if len(opts.Files) == 0 {
		return nil, "", fmt.Errorf("failed to load compose project: %w: pass at least one file", ErrNoFiles)
	}
	files := make([]string, 0, len(opts.Files))
	for _, f := range opts.Files {
		if !filepath.IsAbs(f) && opts.WorkingDir != "" {
			f = filepath.Join(opts.WorkingDir, f)
		}
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, "", fmt.Errorf("failed to resolve compose file %s: %w", f, err)
		}
		if err := checkFile("compose file", abs); err != nil {
			return nil, "", err
		}
		files = append(files, abs)
	}
	workDir := opts.WorkingDir
	if workDir == "" {
		workDir = filepath.Dir(files[0])
	}
	workDir, err := filepath.Abs(workDir)
	if err != nil {
		return nil, "", fmt.Errorf("failed to resolve working directory %s: %w", opts.WorkingDir, err)
	}
	return files, workDir, nil
}

// resolveEnvFiles returns the env files used for interpolation: the given
// ones made absolute and checked, or compose's default .env. The default is
// looked up here rather than through cli.WithEnvFiles, which would read the
// process environment.
func resolveEnvFiles(opts LoadOptions, workDir string) ([]string, error) {
	if len(opts.EnvFiles) == 0 {
		if disabled, _ := strconv.ParseBool(opts.Environment["COMPOSE_DISABLE_ENV_FILE"]); disabled {
			return nil, nil
		}
		def := filepath.Join(workDir, ".env")
		if st, err := os.Stat(def); err == nil && !st.IsDir() {
			if err := checkFile("env file", def); err != nil {
				return nil, err
			}
			return []string{def}, nil
		}
		return nil, nil
	}
	out := make([]string, 0, len(opts.EnvFiles))
	for _, f := range opts.EnvFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(workDir, f)
		}
		if err := checkFile("env file", f); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func withEnvironment(env map[string]string) cli.ProjectOptionsFn {
	return func(o *cli.ProjectOptions) error {
		for k, v := range env {
			o.Environment[k] = v
		}
		return nil
	}
}

func withEnvFiles(files []string) cli.ProjectOptionsFn {
	return func(o *cli.ProjectOptions) error {
		o.EnvFiles = files
		return nil
	}
}

// projectOptions builds compose-go's options the way the docker compose
// CLI does for the same flags.
func projectOptions(opts LoadOptions, files []string, workDir string, envFiles []string) (*cli.ProjectOptions, error) {
	return cli.NewProjectOptions(files,
		cli.WithName(opts.ProjectName),
		cli.WithWorkingDirectory(workDir),
		withEnvironment(opts.Environment),
		withEnvFiles(envFiles),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(opts.Profiles...),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
}

// loadError wraps a loader error so that it names the file at fault.
// compose-go names the file for YAML and schema errors but not for
// interpolation errors, and a user with three -f files needs to know where
// to look: when the message names no file, each file is loaded alone and
// the one that fails the same way is named.
func loadError(ctx context.Context, opts LoadOptions, files []string, workDir string, envFiles []string, err error) error {
	msg := err.Error()
	for _, f := range files {
		if strings.Contains(msg, f) {
			return fmt.Errorf("failed to load compose project: %w", err)
		}
	}
	if len(files) == 1 {
		return fmt.Errorf("failed to load compose file %s: %w", files[0], err)
	}
	for _, f := range files {
		popts, perr := projectOptions(opts, []string{f}, workDir, envFiles)
		if perr != nil {
			break
		}
		if _, ferr := popts.LoadModel(ctx); ferr != nil && ferr.Error() == msg {
			return fmt.Errorf("failed to load compose file %s (merged from %s): %w", f, strings.Join(files, ", "), err)
		}
	}
	return fmt.Errorf("failed to load compose files %s: %w", strings.Join(files, ", "), err)
}

// addIdentityLabels sets the labels docker compose's CLI puts on every
// service before creating containers (its ToProject). They live in
// CustomLabels, which compose-go keeps out of the config hash.
func addIdentityLabels(p *types.Project, explicitEnvFiles bool, envFiles []string) {
	for name, s := range p.Services {
		s.CustomLabels = s.CustomLabels.
			Add(LabelProject, p.Name).
			Add(LabelService, name).
			Add(LabelVersion, ComposeVersion).
			Add(LabelWorkingDir, p.WorkingDir).
			Add(LabelConfigFiles, strings.Join(p.ComposeFiles, ",")).
			Add(LabelOneoff, "False")
		if explicitEnvFiles {
			s.CustomLabels = s.CustomLabels.Add(LabelEnvironmentFile, strings.Join(envFiles, ","))
		}
		p.Services[name] = s
	}
}

package main

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/fleet"
)

// actionFile is the part of action.yml the runner and the Marketplace read.
type actionFile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Branding    struct {
		Icon  string `yaml:"icon"`
		Color string `yaml:"color"`
	} `yaml:"branding"`
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Default     *string `yaml:"default"`
		Required    bool    `yaml:"required"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Image string `yaml:"image"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	data, err := os.ReadFile("action.yml")
	require.NoError(t, err)
	var a actionFile
	require.NoError(t, yaml.Unmarshal(data, &a))
	return a
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestActionInputsMatchConfig holds action.yml and config.Inputs together
// field by field: the same names, and each declared default the one the
// table gives. The runner passes every default as INPUT_*; a default that
// differed from the config's would silently change the behaviour the docs
// promise. It also checks that Parse applies the table's default: an input
// set to it reads the same as an empty one.
func TestActionInputsMatchConfig(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	require.Equal(t, config.InputNames(), keys(a.Inputs), "action.yml inputs must be exactly config.Inputs")
	for _, in := range config.Inputs {
		decl, ok := a.Inputs[in.Name]
		require.True(t, ok, "action.yml does not declare input %s", in.Name)
		require.NotEmpty(t, strings.TrimSpace(decl.Description), "input %s has no description", in.Name)
		require.False(t, decl.Required, "input %s: no input is required; each has a default", in.Name)
		require.NotNil(t, decl.Default, "input %s declares no default; give the config's (%q)", in.Name, in.Default)
		require.Equal(t, in.Default, *decl.Default, "input %s: action.yml's default is not config.Inputs'", in.Name)
	}

	ws := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(ws, "docker-compose.yml"), []byte("services: {}\n"), 0o644))
	parse := func(inputs map[string]string) (*config.Config, string) {
		getenv := func(k string) string {
			if k == "GITHUB_WORKSPACE" {
				return ws
			}
			if name, ok := strings.CutPrefix(k, "INPUT_"); ok {
				return inputs[strings.ToLower(name)]
			}
			return ""
		}
		cfg, err := config.Parse(getenv, ws)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		return cfg, msg
	}
	baseCfg, baseErr := parse(nil)
	for _, in := range config.Inputs {
		cfg, errMsg := parse(map[string]string{in.Name: in.Default})
		require.Equal(t, baseErr, errMsg, "input %s: default %q is read differently from an empty input", in.Name, in.Default)
		require.True(t, reflect.DeepEqual(baseCfg, cfg), "input %s: default %q is not what Parse applies to an empty input", in.Name, in.Default)
	}
}

// TestActionOutputsMatchResult holds action.yml's outputs and the ones a
// run sets together: the deploy's Result.Outputs and a fleet's own.
func TestActionOutputsMatchResult(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	names := fleet.OutputNames()
	sort.Strings(names)
	require.Equal(t, names, keys(a.Outputs))
	for name, out := range a.Outputs {
		require.NotEmpty(t, strings.TrimSpace(out.Description), "output %s has no description", name)
	}
}

// TestActionMetadata checks what the Marketplace and the runner need: a
// name, a description, branding, and a prebuilt image under the module's
// owner, so runs pull instead of building the Dockerfile each time.
func TestActionMetadata(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	require.NotEmpty(t, a.Name)
	require.NotEmpty(t, a.Description)
	require.LessOrEqual(t, len(a.Description), 125, "the Marketplace shows at most 125 characters")
	require.NotEmpty(t, a.Branding.Icon)
	require.NotEmpty(t, a.Branding.Color)
	require.Equal(t, "docker", a.Runs.Using)
	require.True(t, strings.HasPrefix(a.Runs.Image, "docker://ghcr.io/bluegreen-action/bluegreen:v"), a.Runs.Image)
}

// TestReadmeListsInputsAndOutputs keeps the README's tables true: every
// input the config reads and every output a run sets is documented there.
func TestReadmeListsInputsAndOutputs(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, name := range config.InputNames() {
		require.Contains(t, string(readme), "`"+name+"`", "README documents input %s", name)
	}
	for _, name := range fleet.OutputNames() {
		require.Contains(t, string(readme), "| `"+name+"` |", "README's outputs table lists %s", name)
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestPinTheRealActionFile pins a copy of the repository's action.yml and
// checks that only runs.image changed and that it names the digest.
func TestPinTheRealActionFile(t *testing.T) {
	t.Parallel()
	orig, err := os.ReadFile("../../action.yml")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "action.yml")
	require.NoError(t, os.WriteFile(path, orig, 0o644))
	var stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"-digest", digest, path}, &stderr), stderr.String())

	pinned, err := os.ReadFile(path)
	require.NoError(t, err)
	var before, after map[string]any
	require.NoError(t, yaml.Unmarshal(orig, &before))
	require.NoError(t, yaml.Unmarshal(pinned, &after))
	require.Equal(t, "docker://ghcr.io/bluegreen-action/bluegreen@"+digest, after["runs"].(map[string]any)["image"])
	after["runs"].(map[string]any)["image"] = before["runs"].(map[string]any)["image"]
	require.Equal(t, before, after, "nothing but runs.image changed")
}

func TestPinRefuses(t *testing.T) {
	t.Parallel()
	good := []byte("runs:\n  using: docker\n  image: docker://ghcr.io/x/y:v1\n")
	tests := []struct {
		name, image, digest string
		yml                 []byte
		want                string
	}{
		{"short digest", defaultImage, "sha256:abc", good, "is not sha256"},
		{"a tag, not a digest", defaultImage, "v1.2.3", good, "is not sha256"},
		{"digest with a newline", defaultImage, digest + "\n  using: node", good, "is not sha256"},
		{"bad repository", "ghcr.io/X Y", digest, good, "is not a registry repository"},
		{"no image line", defaultImage, digest, []byte("runs:\n  using: docker\n  image: Dockerfile\n"), "exactly one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Pin(tt.yml, tt.image, tt.digest)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// TestReleaseWorkflowPinsByDigest holds release.yml to the order that
// makes a release tag immutable: push the image, pin action.yml to the
// pushed digest with this command, commit, then point the version tag
// (and the major tag) at that commit.
func TestReleaseWorkflowPinsByDigest(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../.github/workflows/release.yml")
	require.NoError(t, err)
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				ID   string            `yaml:"id"`
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
				Env  map[string]string `yaml:"env"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &wf))
	steps := wf.Jobs["image"].Steps
	find := func(pred func(i int) bool) int {
		for i := range steps {
			if pred(i) {
				return i
			}
		}
		return -1
	}
	build := find(func(i int) bool { return strings.HasPrefix(steps[i].Uses, "docker/build-push-action@") })
	require.GreaterOrEqual(t, build, 0, "a build-push step")
	require.NotEmpty(t, steps[build].ID, "the build step has an id, so its digest output can be read")
	pin := find(func(i int) bool { return strings.Contains(steps[i].Run, "go run ./cmd/pin-image") })
	require.Greater(t, pin, build, "action.yml is pinned after the push")
	require.Contains(t, steps[pin].Env["DIGEST"], "steps."+steps[build].ID+".outputs.digest")
	require.Contains(t, steps[pin].Run, `-digest "$DIGEST"`)
	tagStep := find(func(i int) bool { return strings.Contains(steps[i].Run, "git tag -f \"$TAG\"") })
	require.Greater(t, tagStep, pin, "the version tag moves to the pinned commit")
	require.Contains(t, steps[tagStep].Run, "git commit")
	major := find(func(i int) bool { return strings.Contains(steps[i].Run, "git tag -f \"$MAJOR\"") })
	require.Greater(t, major, pin, "the major tag moves to the pinned commit")
}

package config

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseReadsOnlyDeclaredInputs runs Parse along its branches with a
// getenv that fails on any INPUT_ variable missing from Inputs, and checks
// that every declared input is read: the table is exactly what Parse reads.
func TestParseReadsOnlyDeclaredInputs(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "docker-compose.yml", "blue.yml", "green.yml", ".env")
	declaredNames := map[string]bool{}
	for _, in := range Inputs {
		require.False(t, declaredNames[in.Name], "input %s is declared twice", in.Name)
		declaredNames[in.Name] = true
	}
	read := map[string]bool{}
	runs := []map[string]string{
		{},
		{"blue-compose-file": "blue.yml", "green-compose-file": "green.yml", "env-file": ".env", "nginx-include-path": filepath.Join(dir, "x.inc")},
		{"nginx-container": "web", "registry-username": "bob", "registry-password": "pw", "mode": "status"},
		{"mode": "nope", "pull": "nope", "blue-port": "x", "health-status": "x", "health-retries": "x", "health-interval": "x", "keep-previous": "x"},
	}
	for _, inputs := range runs {
		getenv := func(k string) string {
			name, ok := strings.CutPrefix(k, "INPUT_")
			if !ok {
				return map[string]string{"GITHUB_WORKSPACE": dir}[k]
			}
			name = strings.ToLower(name)
			if !declaredNames[name] {
				t.Errorf("Parse reads input %s, which Inputs does not declare", name)
			}
			read[name] = true
			return inputs[name]
		}
		_, _ = Parse(getenv, dir)
	}
	require.Equal(t, slices.Sorted(maps.Keys(declaredNames)), slices.Sorted(maps.Keys(read)), "every declared input is read")
}

func TestInputNames(t *testing.T) {
	t.Parallel()
	names := InputNames()
	require.Len(t, names, len(Inputs))
	require.True(t, slices.IsSorted(names))
	require.Contains(t, names, "compose-file")
	require.Contains(t, names, "nginx-include-path")
}

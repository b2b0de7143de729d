package throwaway

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEnvironInputsLaterMapWins: inputs become INPUT_<NAME> with hyphens
// kept, as the runner sets them, a key in the later map replaces the
// earlier one, and extra pairs come last, unchanged.
func TestEnvironInputsLaterMapWins(t *testing.T) {
	t.Setenv("PATH", "/bin")
	t.Setenv("DOCKER_HOST", "")
	got := Environ(map[string]string{"health-path": "/", "blue-port": "1"}, map[string]string{"health-path": "/health"}, "APP_IMAGE=app:1")
	require.ElementsMatch(t, []string{"PATH=/bin", "INPUT_HEALTH-PATH=/health", "INPUT_BLUE-PORT=1", "APP_IMAGE=app:1"}, got)
	require.Equal(t, "APP_IMAGE=app:1", got[len(got)-1])
}

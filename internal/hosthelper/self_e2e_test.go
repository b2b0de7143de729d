//go:build e2e

package hosthelper

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// TestFindSelfOnHost: a process on the daemon's host (this test) is in no
// container of the daemon, even where a /.dockerenv exists, so the
// launcher leaves the deploy to this process.
func TestFindSelfOnHost(t *testing.T) {
	t.Parallel()
	docker := testenv.RequireDocker(t)
	if strings.Contains(readOr("/proc/self/cgroup"), "/docker/") {
		t.Skip("this test runs inside a Docker container")
	}
	_, err := findSelf(context.Background(), docker)
	require.ErrorIs(t, err, ErrNotInContainer)
	entries, _ := os.ReadDir("/")
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), ".bluegreen-self-"), "the probe file is removed")
	}
}

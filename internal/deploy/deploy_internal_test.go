package deploy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPollEvery: the Docker poll is the Deployer's setting, or 200 ms
// when it has none.
func TestPollEvery(t *testing.T) {
	t.Parallel()
	require.Equal(t, defaultPoll, (&Deployer{}).pollEvery())
	require.Equal(t, 5*time.Millisecond, (&Deployer{poll: 5 * time.Millisecond}).pollEvery())
}

package deploy_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// TestRollbackImageWithoutDocker: a rollback whose end cannot ask Docker
// what serves (listing fails once nginx switched) still reports the image
// the kept color runs, not the compose file's.
func TestRollbackImageWithoutDocker(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Green) // runs app:v0
	h.kept(color.Blue)  // runs app:v0; the compose file says app:v1
	var switched atomic.Bool
	h.sw.Hook = func(_ context.Context, m, _ string) error {
		if m == "Switch" {
			switched.Store(true)
		}
		return nil
	}
	h.eng.Hook = func(_ context.Context, m, _ string) error {
		if m == "List" && switched.Load() {
			return errInjected
		}
		return nil
	}
	res, err := h.run(context.Background(), map[string]string{"mode": "rollback"})
	require.NoError(t, err)
	assert.Equal(t, color.Blue, res.Active)
	assert.Equal(t, "app:v0", res.Image)
}

package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
)

// graceCompose gives one service a stop grace of 30 s, the other 5 s.
const graceCompose = `services:
  web:
    image: app:v1
    ports: ["${BLUEGREEN_PORT}:8080"]
    stop_grace_period: 5s
  worker:
    image: worker:1
    stop_grace_period: 30s
`

// TestCleanupBudget: each step that undoes or finishes a deploy gets the
// clean-up bound (a minute unless set), plus the time the step itself
// needs: the old color's stop gets its stop grace period on top.
func TestCleanupBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		cleanup  time.Duration // the harness's setting; -1 leaves it unset
		fail     bool          // the new color fails its health check
		method   string        // the call whose budget is measured
		min, max time.Duration // the time left when it is called
		compose  string        // a compose file instead of the harness's
	}{
		{"a failed color's removal, bound set", 100 * time.Millisecond, true, "Down", 0, time.Second, ""},
		{"a failed color's removal, default bound", -1, true, "Down", 50 * time.Second, time.Minute, ""},
		{"the old color's stop: bound plus Docker's default stop grace", 100 * time.Millisecond, false, "Stop", 10 * time.Second, 10*time.Second + time.Second, ""},
		{"the old color's stop: bound plus its longest stop_grace_period", 100 * time.Millisecond, false, "Stop", 30 * time.Second, 30*time.Second + time.Second, graceCompose},
		{"the old color's stop: bound plus stop-timeout", 100 * time.Millisecond, false, "Stop", 3 * time.Second, 3*time.Second + time.Second, "stop-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.live(color.Blue)
			h.cleanup = tt.cleanup
			switch tt.compose {
			case "":
			case "stop-timeout":
				h.inputs["stop-timeout"] = "3s"
			default:
				require.NoError(t, os.WriteFile(filepath.Join(h.dir, "grace.yml"), []byte(tt.compose), 0o644))
				h.inputs["compose-file"] = "grace.yml"
			}
			if tt.fail {
				h.apps[color.Green].status.Store(503)
			}
			var mu sync.Mutex
			var left []time.Duration
			h.eng.Hook = func(ctx context.Context, m, _ string) error {
				if m == tt.method {
					deadline, ok := ctx.Deadline()
					require.True(t, ok, "%s is bounded", m)
					mu.Lock()
					left = append(left, time.Until(deadline))
					mu.Unlock()
				}
				return nil
			}
			_, err := h.run(context.Background(), nil)
			assert.Equal(t, tt.fail, err != nil, "%v", err)
			require.Len(t, left, 1, "%s was called once", tt.method)
			assert.Greater(t, left[0], tt.min)
			assert.LessOrEqual(t, left[0], tt.max)
		})
	}
}

// TestResultImage: the image a run reports is what the serving color
// runs: in status what runs, not the compose file's tag nor the image
// input; the kept container's image after a rollback (not the compose
// file's); the new image after a deploy. A rollback also names the
// deploy it went back to.
func TestResultImage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Green) // runs app:v0
	h.kept(color.Blue)  // runs app:v0
	h.eng.Label("app-blue", "20260101T000000Z-aaaaaa")
	h.eng.Label("app-green", "20260102T000000Z-bbbbbb")
	res := h.must(map[string]string{"mode": "status"})
	assert.Equal(t, "app:v0", res.Image, "status: what runs, not the compose file's app:v1")
	assert.Equal(t, deploytest.ImageID("app:v0"), res.ImageDigest, "status: the id, without a repo digest")
	assert.Equal(t, "20260102T000000Z-bbbbbb", output(res, "deploy-id"), "status: the serving deploy's id, from its containers' label")
	res = h.must(map[string]string{"mode": "status", "image": "app:v9"})
	assert.Equal(t, "app:v0", res.Image, "status: what runs, not the image input")
	res = h.must(map[string]string{"mode": "rollback"})
	assert.Equal(t, "app:v0", res.Image, "rollback: what the kept color runs")
	assert.Equal(t, "20260101T000000Z-aaaaaa", res.RollbackTo, "rollback: the deploy the kept color is")
	h.env["VERSION"] = "v2"
	res = h.must(nil)
	assert.Equal(t, "app:v2", res.Image, "deploy: the new image")
}

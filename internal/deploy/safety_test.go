package deploy_test

// The safety net: nothing the user could roll back to is destroyed before
// the new color serves (issues 18 and 21).

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
)

// TestTheKeptCopySurvivesAFailureAtAnyPhase: v1 is kept (blue, stopped)
// while v2 serves (green); a deploy of v3 fails at each phase in turn,
// and the kept v1 is back intact (the same containers), so that
// mode: rollback still starts it.
func TestTheKeptCopySurvivesAFailureAtAnyPhase(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		inject     func(h *harness)
		heal       func(h *harness)
		inputs     map[string]string
		wantKind   deploy.PhaseKind
		wantEngine []string
		wantUndone string
	}{
		{
			name:     "pull",
			inject:   func(h *harness) { h.eng.Hook = failOn("EnsureImages", "app-blue") },
			wantKind: deploy.PhaseStart,
			// The image comes first: the kept blue is not even set aside.
			wantEngine: calls("EnsureImages app-blue"),
			wantUndone: "Nothing was started. nginx still serves green",
		},
		{
			name:       "start",
			inject:     func(h *harness) { h.eng.Hook = failOn("Up", "app-blue") },
			wantKind:   deploy.PhaseStart,
			wantEngine: calls("EnsureImages app-blue", "SetAside app-blue", "Up app-blue", "Remove app-blue", "PutBack app-blue"),
			wantUndone: "Removed the new color app-blue; the kept blue (deploy ",
		},
		{
			name:       "health",
			inject:     func(h *harness) { h.apps[color.Blue].status.Store(503) },
			heal:       func(h *harness) { h.apps[color.Blue].status.Store(200) },
			wantKind:   deploy.PhaseHealth,
			wantEngine: calls("EnsureImages app-blue", "SetAside app-blue", "Up app-blue", "Remove app-blue", "PutBack app-blue"),
			wantUndone: "image app:v1) was put back. nginx still serves green",
		},
		{
			name:       "switch",
			inject:     func(h *harness) { h.sw.Hook = failOn("Switch", "blue") },
			wantKind:   deploy.PhaseSwitch,
			wantEngine: calls("EnsureImages app-blue", "SetAside app-blue", "Up app-blue", "Remove app-blue", "PutBack app-blue"),
			wantUndone: "was put back",
		},
		{
			name: "observe",
			inject: func(h *harness) {
				h.sw.Hook = func(_ context.Context, m, a string) error {
					if m == "Switch" && a == "blue" {
						h.apps[color.Blue].status.Store(500)
					}
					return nil
				}
			},
			heal:       func(h *harness) { h.apps[color.Blue].status.Store(200) },
			inputs:     map[string]string{"observe-seconds": "1"},
			wantKind:   deploy.PhaseObserve,
			wantEngine: calls("EnsureImages app-blue", "SetAside app-blue", "Up app-blue", "Remove app-blue", "PutBack app-blue"),
			wantUndone: "Switched nginx back to green",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			v1 := h.version("v1", nil) // blue
			h.version("v2", nil)       // green serves; blue (v1) kept, stopped
			keptIDs := h.eng.IDs("app-blue")
			require.NotEmpty(t, keptIDs)
			require.False(t, h.eng.Running("app-blue"))

			tt.inject(h)
			h.env["VERSION"] = "v3"
			before := len(h.eng.Calls())
			inputs := map[string]string{"keep-previous": "true"}
			for k, v := range tt.inputs {
				inputs[k] = v
			}
			res, err := h.run(context.Background(), inputs)
			var pe *deploy.PhaseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.wantKind, pe.Kind)
			assert.Equal(t, tt.wantEngine, callStrings(h.eng.Calls()[before:]), "engine calls")
			assert.Contains(t, pe.Undone, tt.wantUndone)
			assert.Equal(t, color.Green, res.Active)
			if tt.wantKind != deploy.PhaseStart || tt.name != "pull" {
				assert.Contains(t, pe.Undone, "the kept blue (deploy "+v1.DeployID+", image app:v1) was put back")
			}
			assert.Equal(t, keptIDs, h.eng.IDs("app-blue"), "the kept blue's own containers are back")
			assert.Empty(t, h.eng.Aside("app-blue"), "nothing is left set aside")
			assert.False(t, h.eng.Running("app-blue"), "the kept blue is stopped again, as it was")

			h.eng.Hook, h.sw.Hook = nil, nil
			if tt.heal != nil {
				tt.heal(h)
			}
			before = len(h.eng.Calls())
			back := h.must(map[string]string{"mode": "rollback"})
			assert.Equal(t, "Start app-blue", callStrings(h.eng.Calls()[before:])[0], "rollback starts the kept copy")
			assert.Equal(t, v1.DeployID, back.RollbackTo)
			assert.Equal(t, "app:v1", back.Image)
			assert.Equal(t, color.Blue, back.Active)
			assert.Equal(t, keptIDs, h.eng.IDs("app-blue"))
		})
	}
}

// TestTheKeptCopyIsReplacedOnlyOnceTheNewColorServes: the set-aside copy
// is removed after the switch, the drain and the stop of the old color,
// and the log says so.
func TestTheKeptCopyIsReplacedOnlyOnceTheNewColorServes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	v1 := h.version("v1", nil)
	h.version("v2", nil)
	h.env["VERSION"] = "v3"
	h.rec = &deploytest.Reporter{}
	before := len(h.eng.Calls())
	h.must(map[string]string{"keep-previous": "true"})
	assert.Equal(t, calls("EnsureImages app-blue", "SetAside app-blue", "Up app-blue", "Stop app-green", "RemoveAside app-blue"),
		callStrings(h.eng.Calls()[before:]))
	assert.Contains(t, h.rec.Of("info"), "the kept blue (deploy "+v1.DeployID+", image app:v1) is replaced; rollback will redeploy it from its image")
	assert.Empty(t, h.eng.Aside("app-blue"))
	assert.Contains(t, h.rec.String(), "setting aside the kept blue (deploy "+v1.DeployID+", image app:v1)")
}

// TestFindReconcilesWhatAKilledRunSetAside: a run killed after it set the
// kept copy aside leaves it renamed; the next run puts it back when the
// new color never served, and removes it when the switch happened.
func TestFindReconcilesWhatAKilledRunSetAside(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("idle color: the kept copy is put back", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		v1 := h.version("v1", nil)
		h.version("v2", nil) // green serves, blue (v1) kept
		kept := h.eng.IDs("app-blue")
		// A deploy of v3 killed after its Up: blue set aside, v3 running.
		_, err := h.eng.SetAside(ctx, "app-blue", "20261207T000000Z-killed")
		require.NoError(t, err)
		h.eng.Run("app-blue", "web", "app:v3")
		h.rec = &deploytest.Reporter{}

		before := len(h.eng.Calls())
		back := h.must(map[string]string{"mode": "rollback"})
		assert.Equal(t, calls("Remove app-blue", "PutBack app-blue", "Start app-blue"), callStrings(h.eng.Calls()[before:before+3]))
		assert.Equal(t, v1.DeployID, back.RollbackTo)
		assert.Equal(t, "app:v1", back.Image)
		assert.Equal(t, kept, h.eng.IDs("app-blue"))
		assert.Contains(t, h.rec.String(), "the kept blue (deploy "+v1.DeployID+", image app:v1), set aside by a run that did not finish, was put back")
	})

	t.Run("idle color: putting the kept copy back fails: the run stops there", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.version("v1", nil)
		h.version("v2", nil) // green serves, blue (v1) kept
		_, err := h.eng.SetAside(ctx, "app-blue", "20261207T000000Z-killed")
		require.NoError(t, err)
		h.eng.Hook = failOn("PutBack", "app-blue")

		before := len(h.eng.Calls())
		_, err = h.run(ctx, map[string]string{"mode": "rollback"})
		require.ErrorIs(t, err, errInjected)
		assert.ErrorContains(t, err, "failed to put back the kept blue")
		assert.Equal(t, calls("PutBack app-blue"), callStrings(h.eng.Calls()[before:]), "nothing after the failed put-back")
		assert.NotEmpty(t, h.eng.Aside("app-blue"), "still set aside, for the next run")
	})

	t.Run("live color: the replaced copy is removed", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.version("v1", nil)
		h.version("v2", nil) // green
		// A deploy of v3 into blue killed after its switch: the old blue
		// set aside, v3 serving on blue.
		_, err := h.eng.SetAside(ctx, "app-blue", "20261207T000000Z-killed")
		require.NoError(t, err)
		h.eng.Run("app-blue", "web", "app:v3")
		h.withMarker(color.Blue)
		h.rec = &deploytest.Reporter{}

		before := len(h.eng.Calls())
		h.env["VERSION"] = "v4"
		h.must(map[string]string{"keep-previous": "true"})
		got := callStrings(h.eng.Calls()[before:])
		require.NotEmpty(t, got)
		assert.Equal(t, "RemoveAside app-blue", got[0])
		assert.NotContains(t, got, "PutBack app-blue")
		assert.Empty(t, h.eng.Aside("app-blue"))
		assert.Contains(t, h.rec.String(), "the kept copy is replaced and was removed")
	})

	t.Run("status only reports", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.version("v1", nil)
		h.version("v2", nil)
		_, err := h.eng.SetAside(ctx, "app-blue", "20261207T000000Z-killed")
		require.NoError(t, err)
		before := len(h.eng.Calls())
		h.must(map[string]string{"mode": "status"})
		assert.Empty(t, h.eng.Calls()[before:])
		assert.NotEmpty(t, h.eng.Aside("app-blue"))
	})
}

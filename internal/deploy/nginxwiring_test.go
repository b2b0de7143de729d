package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// TestPreflightStopsOnABrokenOrStoppedNginx: nginx not running, or a
// config that already fails nginx -t (another server block's missing
// certificate), stops the deploy in preflight, before any container or the
// include is touched, as an invalid setup (exit 2), naming the file and
// line. Mode status only warns.
func TestPreflightStopsOnABrokenOrStoppedNginx(t *testing.T) {
	t.Parallel()
	broken := &nginx.ConfigError{
		Lines: []string{`nginx: [emerg] cannot load certificate "/etc/ssl/other.pem"`},
		File:  "/etc/nginx/sites-enabled/other", Line: 7,
	}
	stopped := fmt.Errorf("%w: no nginx master process is visible in /proc", nginx.ErrNotRunning)
	for _, tt := range []struct {
		name       string
		err        error
		wantText   string
		wantActive string // nginx still serves the include it loaded, unless it is stopped
	}{
		{"config broken by another server block", broken, "/etc/nginx/sites-enabled/other:7", "blue"},
		{"nginx not running", stopped, "nginx is not running", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.live(color.Blue)
			h.withMarker(color.Blue)
			h.sw.PreflightErr = tt.err
			res, err := h.run(context.Background(), nil)
			var pe *deploy.PhaseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, deploy.PhasePreflight, pe.Kind)
			assert.ErrorIs(t, err, config.ErrInvalid, "exit code 2: nothing was touched")
			assert.ErrorIs(t, err, tt.err)
			assert.Contains(t, err.Error(), tt.wantText)
			assert.Empty(t, h.eng.Calls(), "no container was touched")
			assert.Empty(t, h.sw.Calls(), "the include was not touched")
			assert.Equal(t, tt.wantActive, output(res, "active-color"))
			if tt.wantActive == "" {
				assert.NotContains(t, res.Summary("app"), "still serves", "a stopped nginx serves nothing")
			} else {
				assert.Equal(t, "app:v0", output(res, "image"), "what blue runs")
			}

			h.rec = &deploytest.Reporter{}
			h.must(map[string]string{"mode": "status"})
			assert.Contains(t, fmt.Sprint(h.rec.Of("warning")), tt.wantText, "status only warns")
		})
	}
}

// TestFailedSwitchSaysWhatWasChecked: when the switch fails, what the run
// says about nginx is what was checked after the restore: never "nginx
// still serves blue" when nginx was found stopped, nor beside a restore
// that failed.
func TestFailedSwitchSaysWhatWasChecked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.withMarker(color.Blue)
	h.sw.Hook = func(_ context.Context, m, _ string) error {
		if m != "Switch" {
			return nil
		}
		return &nginx.SwitchError{
			Path: "/etc/nginx/conf.d/app.inc", Err: fmt.Errorf("%w: exit status 1", nginx.ErrReload), Reloaded: true,
			RestoreErr: fmt.Errorf("%w: nginx -s reload: exit status 1", nginx.ErrRestoreFailed),
			Serving:    nginx.Serving{IncludeExists: true, Marked: true, Marker: nginx.Marker{Color: color.Blue, DeployID: "old"}, Observed: true},
		}
	}
	res, err := h.run(context.Background(), nil)
	var pe *deploy.PhaseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, deploy.PhaseSwitch, pe.Kind)
	assert.Contains(t, pe.Undone, "Checked after the failed switch: the include holds blue (deploy old); nginx is not running.")
	assert.NotContains(t, pe.Undone, "still serves")
	assert.NotContains(t, res.Summary("app"), "nginx still serves blue")
	assert.Contains(t, res.Summary("app"), "| Colors | **blue** stays the live color, but nginx was found not running |")
}

// TestSwitchIsPreparedWhileHealthIsProbed: the include is rendered and
// tested (Prepare) while the new color is still being probed, so a color
// that never becomes healthy has been prepared for, and a prepared switch
// that nginx rejects fails the switch with the live include untouched.
func TestSwitchIsPreparedWhileHealthIsProbed(t *testing.T) {
	t.Parallel()
	t.Run("prepared before health passes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.live(color.Blue)
		var prepared atomic.Bool
		h.sw.Hook = func(_ context.Context, m, _ string) error {
			if m == "Prepare" {
				prepared.Store(true)
			}
			return nil
		}
		h.apps[color.Green].status.Store(503)
		_, err := h.run(context.Background(), nil)
		require.ErrorIs(t, err, deploy.ErrUnhealthy)
		assert.True(t, prepared.Load(), "Prepare ran while green failed its probes")
		assert.Equal(t, calls("RemoveStaleTemps "), callStrings(h.sw.Calls()), "nothing was written")
	})
	t.Run("a prepared include nginx rejects", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.live(color.Blue)
		h.sw.Hook = func(_ context.Context, m, _ string) error {
			if m == "Prepare" {
				return fmt.Errorf("%w: nginx: [emerg] unknown directive \"proxy_passs\"", nginx.ErrConfigTest)
			}
			return nil
		}
		res, err := h.run(context.Background(), nil)
		var pe *deploy.PhaseError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, deploy.PhaseSwitch, pe.Kind)
		assert.ErrorIs(t, err, nginx.ErrConfigTest)
		assert.Contains(t, err.Error(), "nothing was changed")
		assert.Equal(t, calls("RemoveStaleTemps "), callStrings(h.sw.Calls()), "the live include was never written")
		assert.Equal(t, color.Blue, res.Active)
	})
}

// TestNginxLockIsHeldAroundTheSwitch: preflight's nginx -t and the switch
// run holding the host-wide nginx lock, and it is given back.
func TestNginxLockIsHeldAroundTheSwitch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.nginxLock = &deploytest.Locker{}
	var names []string
	h.nginxLock.Hook = func(_ context.Context, _, name string) error {
		names = append(names, name)
		return nil
	}
	var unheld []string
	h.sw.Hook = func(_ context.Context, m, _ string) error {
		if m == "Switch" || m == "Preflight" {
			if held, _ := h.nginxLock.Held(); !held {
				unheld = append(unheld, m)
			}
		}
		return nil
	}
	h.must(nil)
	assert.Empty(t, unheld, "every nginx step held the lock")
	assert.Equal(t, []string{deploy.NginxLockName, deploy.NginxLockName}, names, "preflight, then the switch")
	held, released := h.nginxLock.Held()
	assert.False(t, held)
	assert.Equal(t, 2, released)
	assert.NotContains(t, h.log.String(), "warning", "a lock released without a problem says nothing")
}

// TestNginxLockTimeoutFailsBeforeTheSwitch: another project's switch that
// holds the lock past lock-timeout fails the run in preflight, before
// anything is touched.
func TestNginxLockTimeoutFailsBeforeTheSwitch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.nginxLock = &deploytest.Locker{}
	busy := errors.New("held by another project's switch")
	h.nginxLock.Hook = func(context.Context, string, string) error { return busy }
	_, err := h.run(context.Background(), nil)
	require.ErrorIs(t, err, busy)
	assert.Contains(t, err.Error(), "host's nginx lock")
	assert.Empty(t, h.eng.Calls())
}

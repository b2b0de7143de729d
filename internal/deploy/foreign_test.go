package deploy_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// TestForeignColorsStopBeforeAnything: a host deploy.sh ran under another
// prefix (its project oldapp-blue holds blue-port) stops the deploy in
// preflight, naming the project-name to set, before the lock, the include
// or any container is touched. Set to that name, the same host deploys.
func TestForeignColorsStopBeforeAnything(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.eng.Run("oldapp-blue", "spring-backend", "acme/app:latest")
	h.eng.Publish("oldapp-blue", uint16(h.apps[color.Blue].port))
	h.sw.SetInclude([]byte("set $service_url http://127.0.0.1:" + strconv.Itoa(h.apps[color.Blue].port) + ";\n"))

	_, err := h.run(context.Background(), nil)
	require.Error(t, err)
	require.ErrorIs(t, err, deploy.ErrPreflight)
	require.ErrorIs(t, err, config.ErrInvalid, "an input to change: exit code 2")
	var pe *deploy.PhaseError
	require.True(t, errors.As(err, &pe))
	require.Equal(t, deploy.PhasePreflight, pe.Kind)
	require.Contains(t, err.Error(), "compose project oldapp-blue (container oldapp-blue-spring-backend-1) is running on host port "+strconv.Itoa(h.apps[color.Blue].port)+" (blue-port)")
	require.Contains(t, err.Error(), "set `project-name: oldapp`")
	require.Empty(t, h.eng.Calls(), "no container was touched")
	require.Empty(t, h.sw.Calls(), "the include was not touched")
	_, released := h.locker.Held()
	require.Zero(t, released, "the lock was never taken")

	h.inputs["project-name"] = "oldapp"
	h.eng.Run("oldapp-blue", "worker", "worker:1")
	res, err := h.run(context.Background(), nil)
	require.NoError(t, err)
	require.Equal(t, color.Blue, res.Previous)
	require.Equal(t, color.Green, res.Active)
}

// TestForeignColorsLeftAlone: what is not a foreign color on our ports is
// not this check's business: our own colors, another app's colors on other
// ports, a plain container on our port (the start names it), and a
// foreign color in status mode (only a warning).
func TestForeignColorsLeftAlone(t *testing.T) {
	t.Parallel()
	t.Run("ours and others", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.live(color.Blue)
		h.eng.Publish("app-blue", uint16(h.apps[color.Blue].port))
		h.eng.Run("shop-blue", "web", "shop:1")
		h.eng.Publish("shop-blue", 9081)
		res, err := h.run(context.Background(), nil)
		require.NoError(t, err)
		require.Equal(t, color.Green, res.Active)
	})
	t.Run("status mode warns", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.eng.Run("oldapp-green", "web", "acme/app:latest")
		h.eng.Publish("oldapp-green", uint16(h.apps[color.Green].port))
		_, err := h.run(context.Background(), map[string]string{"mode": "status"})
		require.NoError(t, err)
		require.Contains(t, h.log.String(), "set `project-name: oldapp`")
	})
	t.Run("two prefixes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.eng.Run("one-blue", "web", "a:1")
		h.eng.Publish("one-blue", uint16(h.apps[color.Blue].port))
		h.eng.Run("two-green", "web", "b:1")
		h.eng.Publish("two-green", uint16(h.apps[color.Green].port))
		_, err := h.run(context.Background(), nil)
		require.ErrorIs(t, err, config.ErrInvalid)
		require.Contains(t, err.Error(), "several base names (one, two)")
		require.Less(t, strings.Index(err.Error(), "compose project one-blue"), strings.Index(err.Error(), "compose project two-green"), "one line per project, in the projects' order")
		require.Empty(t, h.eng.Calls())
	})
}

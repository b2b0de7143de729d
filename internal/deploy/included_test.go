package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// TestUnincludedIncludeStopsBeforeAnything: an include no part of nginx's
// config includes would switch nothing users see; the deploy stops in
// preflight (exit 2) saying where to include it, before anything starts.
func TestUnincludedIncludeStopsBeforeAnything(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.live(color.Blue)
	h.sw.Inclusion = &nginx.Inclusion{}
	_, err := h.run(context.Background(), nil)
	require.ErrorIs(t, err, deploy.ErrPreflight)
	require.ErrorIs(t, err, config.ErrInvalid)
	require.Contains(t, err.Error(), "does not include "+h.inputs["nginx-include-path"]+" anywhere")
	require.Contains(t, err.Error(), "add `include "+h.inputs["nginx-include-path"]+";` to the server block")
	require.Empty(t, h.eng.Calls())
	require.Empty(t, h.sw.Calls())

	_, err = h.run(context.Background(), map[string]string{"mode": "status"})
	require.NoError(t, err, "status only warns")
	require.Contains(t, h.log.String(), "warning: nginx's loaded config (nginx -T) does not include")
}

// upstreamApp is an include template for http context.
const upstreamApp = "upstream app { server {{.Host}}:{{.Port}}; }"

func TestInclusionOtherwise(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		in     *nginx.Inclusion
		hook   deploytest.Hook
		log    string
		tmpl   string
		verify bool
	}{
		{name: "http context", in: &nginx.Inclusion{Chains: []string{"http"}}, log: "is included in http context (http)"},
		{name: "dumped only", in: &nginx.Inclusion{Dumped: true}},
		{name: "upstream used", in: &nginx.Inclusion{Chains: []string{"http"}, Passes: []string{"http://app"}}, tmpl: upstreamApp},
		{name: "upstream unused", in: &nginx.Inclusion{Chains: []string{"http"}, Passes: []string{"http://127.0.0.1:9000"}}, tmpl: upstreamApp,
			log: "warning: " + "%INC% is included in http context and defines upstream app, but no proxy_pass"},
		{name: "upstream unused, verify-url set", in: &nginx.Inclusion{Chains: []string{"http"}}, tmpl: upstreamApp, verify: true},
		{name: "nginx -T fails", hook: func(_ context.Context, m, _ string) error {
			if m == "FindInclusion" {
				return errors.New("open() failed")
			}
			return nil
		}, log: "could not check that nginx's config includes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.sw.Inclusion, h.sw.Hook = tt.in, tt.hook
			extra := map[string]string{}
			if tt.tmpl != "" {
				extra["nginx-include-template"] = tt.tmpl
			}
			if tt.verify {
				extra["verify-url"] = h.frontDoor(true)
			}
			res, err := h.run(context.Background(), extra)
			require.NoError(t, err)
			require.Equal(t, color.Blue, res.Active)
			require.Contains(t, h.log.String(), strings.ReplaceAll(tt.log, "%INC%", h.inputs["nginx-include-path"]))
			if tt.log == "" || !strings.HasPrefix(tt.log, "warning") {
				require.NotContains(t, h.log.String(), "no proxy_pass")
			}
		})
	}
}

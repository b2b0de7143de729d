package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoleInputsSplitOnCommasAndLines(t *testing.T) {
	cfg, got := problems(t, map[string]string{
		"shared-services":    "db, cache\nsearch",
		"singleton-services": "scheduler",
	})
	require.Empty(t, got)
	require.Equal(t, []string{"db", "cache", "search"}, cfg.Roles.Shared)
	require.Equal(t, []string{"scheduler"}, cfg.Roles.Singletons)
	require.Equal(t, "shared: db, cache, search; singletons: scheduler", cfg.Roles.RoleSummary())
}

func TestRoleInputsDefaultEmpty(t *testing.T) {
	cfg, got := problems(t, nil)
	require.Empty(t, got)
	require.Empty(t, cfg.Roles.Shared)
	require.Empty(t, cfg.Roles.Singletons)
	require.Equal(t, "", cfg.Roles.RoleSummary())
}

func TestRoleInputsRefuseWhatIsNoServiceName(t *testing.T) {
	_, got := problems(t, map[string]string{"shared-services": "db, $(rm -rf)", "singleton-services": "db"})
	require.Len(t, got, 2)
	text := strings.Join(got, "\n")
	require.Contains(t, text, `shared-services: "$(rm -rf)" is not a compose service name`)
	require.Contains(t, text, `service "db" is listed in both shared-services and singleton-services`)
}

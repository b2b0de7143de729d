package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestInputNames(t *testing.T) {
	t.Parallel()
	names := InputNames()
	require.Contains(t, names, "compose-file")
	require.Contains(t, names, "nginx-include-path")
	require.Contains(t, names, "health-path")
	t.Log(names)
}

package deploy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestColorPrefix(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"oldapp-blue": "oldapp", "spring-backend-green": "spring-backend", "app": "", "-blue": "", "blue": ""} {
		got, ok := colorPrefix(in)
		require.Equal(t, want, got, in)
		require.Equal(t, want != "", ok, in)
	}
}

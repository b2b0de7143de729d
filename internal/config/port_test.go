package config

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// TestPortBounds: a color's port is a TCP port, 1 to 65535; the values
// just outside are refused with the valid range, the bounds themselves
// accepted.
func TestPortBounds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		port string
		ok   bool
	}{
		{"0", false},
		{"1", true},
		{"65535", true},
		{"65536", false},
	} {
		t.Run(tt.port, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte("services: {}\n"), 0o644))
			in := map[string]string{
				"GITHUB_WORKSPACE":         dir,
				"INPUT_NGINX-INCLUDE-PATH": filepath.Join(dir, "x.inc"),
				"INPUT_BLUE-PORT":          tt.port,
			}
			cfg, err := Parse(func(k string) string { return in[k] }, dir)
			if tt.ok {
				require.NoError(t, err)
				require.Equal(t, tt.port, strconv.Itoa(cfg.Ports[color.Blue]))
				return
			}
			require.ErrorContains(t, err, `blue-port "`+tt.port+`" is not a TCP port: use a number from 1 to 65535`)
		})
	}
}

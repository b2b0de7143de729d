package testenv

import (
	"testing"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// Nginx is a private nginx started by a test (see throwaway.Nginx).
type Nginx = throwaway.Nginx

// NginxOptions shapes the private nginx (see throwaway.NginxOptions).
type NginxOptions = throwaway.NginxOptions

// SeedServer is the seed's server block body.
const SeedServer = throwaway.SeedServer

// StartNginx starts a private nginx in the test's temp directory and stops
// it when the test ends; it skips without nginx (fails under CI).
func StartNginx(t testing.TB, opts NginxOptions) *Nginx {
	t.Helper()
	RequireNginx(t)
	if opts.Prefix == "" {
		opts.Prefix = t.TempDir()
	}
	if opts.Port == 0 {
		opts.Port = FreePort(t)
	}
	n, err := throwaway.StartNginx(opts)
	if err != nil {
		t.Fatalf("failed to start nginx: %v", err)
	}
	t.Cleanup(n.Close)
	return n
}

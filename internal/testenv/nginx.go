package testenv

import (
	"testing"

	"github.com/bluegreen-action/bluegreen/internal/sandbox"
)

// Nginx is a private nginx started by a test (see sandbox.Nginx).
type Nginx = sandbox.Nginx

// NginxOptions shapes the private nginx (see sandbox.NginxOptions).
type NginxOptions = sandbox.NginxOptions

// SeedServer is the seed's server block body.
const SeedServer = sandbox.SeedServer

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
	n, err := sandbox.StartNginx(opts)
	if err != nil {
		t.Fatalf("failed to start nginx: %v", err)
	}
	t.Cleanup(n.Close)
	return n
}

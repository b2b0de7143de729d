package compose

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCredentialsGoOnlyToTheirRegistry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		registry, image string
		sent            bool
	}{
		{"", "acme/app:1", true},
		{"", "app", true},
		{"docker.io", "docker.io/library/nginx", true},
		{"https://index.docker.io/v1/", "acme/app", true},
		{"", "ghcr.io/acme/app:1", false},
		{"ghcr.io", "ghcr.io/acme/app:1", true},
		{"https://ghcr.io/", "ghcr.io/acme/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
		{"ghcr.io", "acme/app:1", false},
		{"ghcr.io", "ghcr.io.evil.example/acme/app", false},
		{"ghcr.io", "quay.io/third/sidecar:2", false},
		{"localhost:5000", "localhost:5000/app", true},
		{"localhost:5000", "localhost:5001/app", false},
		{"GHCR.io", "ghcr.io/acme/app", true},
		{"ghcr.io", "not a reference", false},
	}
	for _, tt := range tests {
		c := Credentials{Registry: tt.registry, Auth: "secret"}
		got := c.For(tt.image)
		assert.Equal(t, tt.sent, got == "secret", "registry %q, image %q", tt.registry, tt.image)
	}
	assert.Empty(t, Credentials{Registry: "ghcr.io"}.For("ghcr.io/a/b"), "no login, nothing sent")
}

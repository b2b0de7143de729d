package compose

import (
	"strings"

	"github.com/distribution/reference"
)

// Credentials are one registry's login, encoded as Docker's X-Registry-Auth
// header. They are sent only with pulls of images that live on that
// registry: a sidecar image from another registry is pulled anonymously,
// so a token for the team's registry never reaches a third party.
type Credentials struct {
	// Registry is the registry the login is for, as the registry input
	// names it ("ghcr.io", "https://ghcr.io", "" for Docker Hub).
	Registry string
	// Auth is the encoded X-Registry-Auth value; "" sends none.
	Auth string
}

// For returns the X-Registry-Auth value to send when pulling ref: Auth if
// ref's registry is the credentials' registry, else "".
func (c Credentials) For(ref string) string {
	if c.Auth == "" {
		return ""
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	if reference.Domain(named) != RegistryDomain(c.Registry) {
		return ""
	}
	return c.Auth
}

// dockerHub is the domain reference.Domain gives every Docker Hub image.
const dockerHub = "docker.io"

// RegistryDomain normalises a registry as users write it ("", "docker.io",
// "index.docker.io", "https://index.docker.io/v1/", "ghcr.io",
// "https://ghcr.io/", "localhost:5000") to the domain reference.Domain
// gives the images that live there.
func RegistryDomain(registry string) string {
	r := strings.ToLower(strings.TrimSpace(registry))
	r = strings.TrimPrefix(r, "https://")
	r = strings.TrimPrefix(r, "http://")
	if i := strings.IndexByte(r, '/'); i >= 0 {
		r = r[:i]
	}
	switch r {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return dockerHub
	}
	return r
}

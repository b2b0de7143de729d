package compose

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// ErrForeignPlatform is returned for a service whose platform: is not the
// Docker daemon's own: a server runs its own platform only, and an image
// for another one would need emulation that a deploy should not silently
// depend on.
var ErrForeignPlatform = errors.New("platform is not the Docker daemon's")

// archAliases spells architectures the way Go and the Engine API's
// version endpoint do.
var archAliases = map[string]string{"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm", "i386": "386"}

// parsePlatform splits os/arch[/variant] and normalises the architecture.
func parsePlatform(v string) (osName, arch string, ok bool) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(v)), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	arch = parts[1]
	if a, ok := archAliases[arch]; ok {
		arch = a
	}
	return parts[0], arch, true
}

// checkPlatform accepts platform: in the os/arch[/variant] form; whether it
// is the daemon's is known only with the daemon (CheckPlatforms).
func checkPlatform(_ *types.Project, s types.ServiceConfig) []Problem {
	if _, _, ok := parsePlatform(s.Platform); ok {
		return nil
	}
	return []Problem{{Service: s.Name, Key: "platform", Hint: fmt.Sprintf("platform %q is not <os>/<arch>[/<variant>]: write it as linux/amd64, say, or remove it", s.Platform)}}
}

// PlatformProblems lists the services whose platform: is not the daemon's
// (osName/arch as the Engine API's version endpoint reports them), one
// line each. A platform equal to the daemon's is what the daemon runs
// anyway: frappe's official compose file sets linux/amd64 on every
// service, and runs unchanged on an amd64 host.
func PlatformProblems(p *types.Project, osName, arch string) []string {
	wantOS, wantArch, _ := parsePlatform(osName + "/" + arch)
	var out []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Platform == "" {
			continue
		}
		gotOS, gotArch, ok := parsePlatform(s.Platform)
		if !ok || gotOS == wantOS && gotArch == wantArch {
			continue // Check reports a malformed one
		}
		out = append(out, fmt.Sprintf("service %q: platform %q is not this Docker host's (%s/%s): a server runs images of its own platform only; remove platform:, or set it to %s/%s",
			name, s.Platform, wantOS, wantArch, wantOS, wantArch))
	}
	return out
}

// CheckPlatforms fails with ErrForeignPlatform when a service's platform:
// is not the daemon's, before anything is created. It asks the daemon only
// when some service sets platform:.
func (e *Engine) CheckPlatforms(ctx context.Context, p *types.Project) error {
	some := false
	for _, s := range p.Services {
		some = some || s.Platform != ""
	}
	if !some {
		return nil
	}
	v, err := e.Docker.ServerVersion(ctx)
	if err != nil {
		return fmt.Errorf("failed to read the Docker daemon's platform: %w", err)
	}
	if problems := PlatformProblems(p, v.Os, v.Arch); len(problems) > 0 {
		return fmt.Errorf("failed to start project %s: %w: %s", p.Name, ErrForeignPlatform, strings.Join(problems, "; "))
	}
	return nil
}

package compose

import (
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
)

// buildKeys are the build settings the Engine API's classic builder takes
// (see build.go). The others need BuildKit, which the Engine API offers
// only through a BuildKit session; docker compose's own classic builder
// refuses the same ones.
var buildKeys = map[string]bool{
	"context": true, "dockerfile": true, "dockerfile_inline": true, "args": true, "target": true,
	"labels": true, "network": true, "extra_hosts": true, "shm_size": true, "cache_from": true,
	"no_cache": true, "pull": true, "tags": true, "ulimits": true, "platforms": true,
}

// buildKitOnly explains each build key that needs BuildKit.
var buildKitOnly = map[string]string{
	"secrets":             "build secrets",
	"ssh":                 "SSH agent forwarding",
	"additional_contexts": "additional build contexts",
	"privileged":          "privileged builds",
	"entitlements":        "build entitlements",
	"cache_to":            "cache export",
	"no_cache_filter":     "per-stage cache control",
	"provenance":          "provenance attestations",
	"sbom":                "SBOM attestations",
}

func buildHint(key string) string {
	what, ok := buildKitOnly[key[len("build."):]]
	if !ok {
		return defaultHint(key)
	}
	return fmt.Sprintf("%s (%s) needs BuildKit; bluegreen builds on the deploying host through the Docker Engine API's classic builder, "+
		"which cannot take it (docker compose's classic builder refuses them too): "+
		"build the image in an earlier workflow step (for example docker/build-push-action) and set image:", key, what)
}

func checkBuild(_ *types.Project, s types.ServiceConfig) []Problem {
	b := s.Build
	problems := rejectKeys(s.Name, "build", *b, buildKeys, buildHint)
	if len(b.Platforms) > 1 {
		problems = append(problems, Problem{Service: s.Name, Key: "build.platforms", Hint: fmt.Sprintf("%d platforms make a multi-platform image, which needs BuildKit and a registry to hold it; a server runs its own platform only: list one platform, or none", len(b.Platforms))})
	}
	for _, name := range sortedKeys(b.Ulimits) {
		if u := b.Ulimits[name]; u != nil {
			problems = append(problems, rejectKeys(s.Name, "build.ulimits."+name, *u, ulimitKeys, defaultHint)...)
		}
	}
	return problems
}

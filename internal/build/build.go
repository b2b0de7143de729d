// Package build names when the deploy builds images on the host. It is the
// vocabulary of the action's build input, read by config and obeyed by
// compose, kept apart as pull is so that the two cannot drift.
package build

import "fmt"

// Policy says when a service that has a build: section is built.
type Policy string

const (
	// Auto builds as docker compose up does: a service without image:
	// every deploy (its image is tagged per deploy); a service with image:
	// only when that image is missing and cannot be pulled, or when its
	// pull_policy is build.
	Auto Policy = "auto"
	// Always builds every service that has build:, like up --build.
	Always Policy = "always"
	// Never builds nothing, like up --no-build: every image must be
	// present or pullable.
	Never Policy = "never"
)

// All lists the policies in the order messages offer them.
var All = []Policy{Auto, Always, Never}

// Parse reads a policy; empty means Auto.
func Parse(s string) (Policy, error) {
	switch Policy(s) {
	case "", Auto:
		return Auto, nil
	case Always, Never:
		return Policy(s), nil
	}
	return "", fmt.Errorf("unknown build policy %q: valid policies are auto, always and never", s)
}

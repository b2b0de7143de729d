// Package pull names when images are pulled. It is the one vocabulary for
// the action's pull input (read by config) and a service's pull_policy
// (read by compose), so the two cannot drift apart or be converted
// unchecked from one string type to another.
package pull

import "fmt"

// Policy says when an image is pulled, as docker compose up --pull says it.
type Policy string

const (
	// Always pulls every image, so a moved tag (latest) is picked up.
	Always Policy = "always"
	// Missing pulls only images that are not present locally; it is
	// docker compose's default.
	Missing Policy = "missing"
	// Never uses local images only, e.g. built earlier in the job.
	Never Policy = "never"
)

// All lists the policies in the order messages offer them.
var All = []Policy{Always, Missing, Never}

// Parse reads a policy as docker compose spells it. Empty means Missing,
// compose's default, and compose's older name if_not_present means Missing
// too. compose's build, daily, weekly and every_<duration> are refused:
// the action never builds, and has no record of when an image was pulled.
func Parse(s string) (Policy, error) {
	switch s {
	case "", string(Missing), "if_not_present":
		return Missing, nil
	case string(Always):
		return Always, nil
	case string(Never):
		return Never, nil
	}
	return "", fmt.Errorf("unknown pull policy %q: valid policies are always, missing and never", s)
}

package config

import (
	"sort"
	"strings"
)

// Inputs reads action inputs the way the Actions runner passes them:
// INPUT_ + the name in upper case, hyphens kept, surrounding space trimmed.
type Inputs struct {
	getenv Getenv
}

// Get returns an input's trimmed value.
func (in Inputs) Get(name string) string {
	return strings.TrimSpace(in.getenv("INPUT_" + strings.ToUpper(name)))
}

// InputNames lists every input Parse reads, sorted. action.yml must declare
// exactly these; a test holds the two together.
func InputNames() []string {
	seen := map[string]bool{}
	getenv := func(k string) string {
		if name, ok := strings.CutPrefix(k, "INPUT_"); ok {
			seen[strings.ToLower(name)] = true
		}
		return ""
	}
	_, _ = Parse(getenv, "/")
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

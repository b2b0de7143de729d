package config

import (
	"fmt"
	"slices"
	"strings"
)

// ParseEnviron is Parse over a whole environment, as os.Environ gives it
// through EnvMap. Seeing every name, it also warns about INPUT_* variables
// that no input reads (Config.Warnings): the runner passes a misspelt
// input such as helth-path through as INPUT_HELTH-PATH, and without a
// warning the deploy would probe / and fail a minute later.
func ParseEnviron(env map[string]string, cwd string) (*Config, error) {
	cfg, err := Parse(func(k string) string { return env[k] }, cwd)
	if cfg != nil {
		cfg.Warnings = append(UnknownInputs(env), cfg.Warnings...)
	}
	return cfg, err
}

// maxUnknownWarned caps the warnings about unknown inputs: a job that
// sets hundreds of INPUT_* variables for another tool gets a count.
const maxUnknownWarned = 10

// UnknownInputs returns a warning for each INPUT_* variable in env that
// names no input, in name order, with the closest input when one is near
// enough to be what was meant.
func UnknownInputs(env map[string]string) []string {
	known := map[string]bool{}
	for _, in := range Inputs {
		known[in.Name] = true
	}
	var unknown []string
	for k := range env {
		raw, ok := strings.CutPrefix(k, "INPUT_")
		if !ok {
			continue
		}
		// The runner upper-cases the name and turns spaces into _.
		if name := strings.ToLower(raw); !known[name] {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	var warnings []string
	for i, name := range unknown {
		if i == maxUnknownWarned {
			warnings = append(warnings, fmt.Sprintf("%d more INPUT_* variables name no input of this action and are ignored", len(unknown)-i))
			break
		}
		w := fmt.Sprintf("input %q is not an input of this action, so it is ignored", name)
		if near := closestInput(name); near != "" {
			w += fmt.Sprintf(": did you mean %s?", near)
		} else {
			w += ": see the inputs in action.yml or the README"
		}
		warnings = append(warnings, w)
	}
	return warnings
}

// closestInput returns the declared input nearest to name by edit
// distance, when it is near enough to be a typo of it: at most a third
// of the name's length, and never more than 3 edits. Underscores count as
// hyphens (health_path is health-path). Ties go to the input declared
// first.
func closestInput(name string) string {
	name = strings.ReplaceAll(name, "_", "-")
	limit := min(3, max(1, len(name)/3))
	best, bestDist := "", limit+1
	for _, in := range Inputs {
		if d := editDistance(name, in.Name); d < bestDist {
			best, bestDist = in.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b in bytes
// (input names are ASCII), with one row of the table kept at a time.
func editDistance(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			next := min(row[j]+1, row[j-1]+1, diag+cost)
			diag, row[j] = row[j], next
		}
	}
	return row[len(b)]
}

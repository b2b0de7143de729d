// Package httpstatus is the vocabulary of HTTP status sets: what the
// action's health-status input accepts. It is its own small package so
// that config can parse the input without depending on the prober in
// package health, and health can take a set without knowing the inputs.
package httpstatus

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Set is a set of HTTP statuses, such as the ones a health check accepts.
// The zero Set contains nothing.
type Set struct {
	ranges [][2]int
}

// ParseSet reads "200", "200,204", "200-299" or "2xx", and lists of them.
func ParseSet(s string) (Set, error) {
	var set Set
	for _, part := range strings.FieldsFunc(s, isListSep) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, err := parseStatusRange(part)
		if err != nil {
			return Set{}, err
		}
		set.ranges = append(set.ranges, [2]int{lo, hi})
	}
	if len(set.ranges) == 0 {
		return Set{}, errors.New("no status given: use a code (200), a list (200,204) or a range (200-299)")
	}
	sort.Slice(set.ranges, func(i, j int) bool { return set.ranges[i][0] < set.ranges[j][0] })
	return set, nil
}

// isListSep splits a list the way the action's list inputs are split:
// at commas and line breaks.
func isListSep(r rune) bool { return r == ',' || r == '\n' || r == '\r' }

func parseStatusRange(part string) (int, int, error) {
	bad := fmt.Errorf("%q is not an HTTP status: use a code (200), a list (200,204) or a range (200-299 or 2xx)", part)
	if len(part) == 3 && strings.HasSuffix(strings.ToLower(part), "xx") {
		d := int(part[0] - '0')
		if d < 1 || d > 5 {
			return 0, 0, bad
		}
		return d * 100, d*100 + 99, nil
	}
	lo, hi, isRange := strings.Cut(part, "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil || a < 100 || a > 599 {
		return 0, 0, bad
	}
	if !isRange {
		return a, a, nil
	}
	b, err := strconv.Atoi(strings.TrimSpace(hi))
	if err != nil || b < a || b > 599 {
		return 0, 0, bad
	}
	return a, b, nil
}

// Contains reports whether code is accepted.
func (s Set) Contains(code int) bool {
	for _, r := range s.ranges {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

// String renders the set the way a user would write it.
func (s Set) String() string {
	parts := make([]string, 0, len(s.ranges))
	for _, r := range s.ranges {
		if r[0] == r[1] {
			parts = append(parts, strconv.Itoa(r[0]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", r[0], r[1]))
		}
	}
	return strings.Join(parts, ",")
}

package httpstatus

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		yes, no []int
		err     bool
	}{
		{in: "200", yes: []int{200}, no: []int{201, 199}},
		{in: "2xx", yes: []int{200, 299}, no: []int{300}},
		{in: "200,204", yes: []int{200, 204}, no: []int{201}},
		{in: "200-204", yes: []int{200, 202, 204}, no: []int{205}},
		{in: "204-200", err: true},
		{in: "99", err: true},
		{in: "", err: true},
		{in: "6xx", err: true},
	}
	for _, tt := range tests {
		s, err := ParseSet(tt.in)
		if tt.err {
			require.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		for _, c := range tt.yes {
			require.True(t, s.Contains(c), "%s should accept %d", tt.in, c)
		}
		for _, c := range tt.no {
			require.False(t, s.Contains(c), "%s should refuse %d", tt.in, c)
		}
	}
}

package nginx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCandidateLinkBudget: the links made for the config directory stop
// at the budget: a directory with exactly as many entries as the budget
// is linked whole, one more entry is refused with the reason.
func TestCandidateLinkBudget(t *testing.T) {
	t.Parallel()
	etc := t.TempDir()
	for _, f := range []string{"a", "b", "c"} {
		require.NoError(t, os.WriteFile(filepath.Join(etc, f), []byte("x"), 0o644))
	}
	for _, tt := range []struct {
		budget int
		ok     bool
	}{{3, true}, {2, false}} {
		c := &candidate{root: t.TempDir()}
		budget := tt.budget
		err := c.link(etc, map[string]bool{}, &budget)
		if !tt.ok {
			assert.ErrorContains(t, err, "the config directory "+etc+" has more than", "budget %d", tt.budget)
			continue
		}
		require.NoError(t, err, "budget %d", tt.budget)
		assert.Equal(t, 0, budget, "each entry takes one from the budget")
		for _, f := range []string{"a", "b", "c"} {
			target, err := os.Readlink(filepath.Join(c.root, etc, f))
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(etc, f), target)
		}
	}
}

// TestCandidateInclude: the new include's absolute include paths point
// into the candidate; an include that does not parse is kept as it is,
// for nginx -t to reject in its own words.
func TestCandidateInclude(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "include /tmp/c/etc/nginx/snippets/proxy.conf;\n", candidateInclude([]byte("include /etc/nginx/snippets/proxy.conf;\n"), "/tmp/c"))
	assert.Equal(t, "include /etc/nginx/x.conf; {\n", candidateInclude([]byte("include /etc/nginx/x.conf; {\n"), "/tmp/c"))
}

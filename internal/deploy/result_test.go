package deploy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// TestSummaryFencesUntrustedText: a container's output in the cause and
// an image reference cannot break out of their code block, cell or row.
func TestSummaryFencesUntrustedText(t *testing.T) {
	t.Parallel()
	r := &deploy.Result{
		DeployID: "d1",
		Active:   color.Blue,
		Image:    "evil|`img`\n| Injected | row |",
		Phases:   []deploy.Phase{{Name: "Start green"}},
		Err:      &deploy.PhaseError{Phase: "Health check", Err: errors.New("last body:\n```\n## pwned\n<img src=x>")},
	}
	md := r.Summary("app")
	require.Contains(t, md, "| Image | ``evil\\|`img` \\| Injected \\| row \\|`` |\n")
	require.Contains(t, md, "\n````\nlast body:\n```\n## pwned\n<img src=x>\n````\n")
	require.NotContains(t, md, "\n| Injected")
	require.True(t, strings.HasSuffix(md, "````\n"), md)
}

package fleet

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestErrorMessages: a rollout's error says where it stopped: before any
// host was touched (every problem listed), a cancellation, or the host
// that failed, with its phase when known.
func TestErrorMessages(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  *Error
		want string
	}{
		{&Error{Step: StepPreflight, Problems: []string{"h1: refused", "h2: refused"}},
			"fleet preflight failed; nothing was changed on any host:\n  - h1: refused\n  - h2: refused"},
		{&Error{Step: StepLock, Host: "h2", Problems: []string{"h2: busy"}},
			"fleet lock failed; nothing was changed on any host:\n  - h2: busy"},
		{&Error{Step: StepCancel, Cause: "context canceled"}, "the rollout was cancelled: context canceled"},
		{&Error{Step: StepDeploy, Host: "h3", Phase: "Health check", Cause: "got 500"}, "h3 failed in Health check: got 500"},
		{&Error{Step: StepDeploy, Host: "h3", Cause: "the connection closed"}, "h3 failed: the connection closed"},
	} {
		require.Equal(t, c.want, c.err.Error())
	}
}

package nginx

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

// withDump makes the fake nginx answer nginx -T with a config whose
// server includes the setup's include, so Prepare can build a candidate.
func (s *fakeSetup) withDump() {
	dump := "# configuration file /srv/a/nginx.conf:\nhttp { server { listen 80; include " + s.path + "; } }\n"
	run := s.nginx.run
	s.sw.Run = func(ctx context.Context, args []string) (execx.Result, error) {
		if slices.Contains(args, "-T") {
			return execx.Result{Stdout: dump}, nil
		}
		return run(ctx, args)
	}
	s.nginx.onReload = func(_ context.Context, n int) error {
		s.respawn(n)
		return nil
	}
}

// TestPrepareThenCommit: Prepare tests the new include on a candidate and
// leaves the live include alone; Commit then writes and reloads without
// testing again.
func TestPrepareThenCommit(t *testing.T) {
	t.Parallel()
	s := newFakeSetup(t, oldInclude)
	s.withDump()
	p, err := s.sw.Prepare(context.Background(), []byte(newInclude))
	require.NoError(t, err)
	assert.True(t, p.Validated)
	assert.Empty(t, p.Why)
	assert.Equal(t, oldInclude, s.include(t), "Prepare touched the live include")
	tests, reloads := s.nginx.counts()
	assert.Equal(t, []int{1, 0}, []int{tests, reloads})
	assert.Contains(t, s.logs.String(), "config test passed on a candidate copy")

	r, err := s.sw.Commit(context.Background(), p)
	require.NoError(t, err)
	assert.True(t, r.Observed)
	assert.Equal(t, newInclude, s.include(t))
	tests, reloads = s.nginx.counts()
	assert.Equal(t, []int{1, 1}, []int{tests, reloads}, "Commit tested again what Prepare had tested")
	assert.NotContains(t, s.logs.String(), "changed since the switch was prepared")
}

// TestCommitTestsAgainWhenTheIncludeChanged: an include someone wrote (or
// created) between Prepare and Commit makes Commit test the config again,
// with a warning.
func TestCommitTestsAgainWhenTheIncludeChanged(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, before string
		edit         func(path string) error
	}{
		{"rewritten", oldInclude, func(p string) error { return os.WriteFile(p, []byte(oldInclude+"# edited\n"), 0o640) }},
		{"created empty", "", func(p string) error { return os.WriteFile(p, nil, 0o640) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFakeSetup(t, tt.before)
			s.withDump()
			p, err := s.sw.Prepare(context.Background(), []byte(newInclude))
			require.NoError(t, err)
			require.True(t, p.Validated)
			require.NoError(t, tt.edit(s.path))
			_, err = s.sw.Commit(context.Background(), p)
			require.NoError(t, err)
			assert.Equal(t, newInclude, s.include(t))
			tests, _ := s.nginx.counts()
			assert.Equal(t, 2, tests, "the changed config was not tested again")
			assert.Contains(t, s.logs.String(), "changed since the switch was prepared; testing the config again")
		})
	}
}

// TestPrepareWithoutCandidate: when no candidate can be made, Prepare says
// why, and Commit tests the live config before the reload.
func TestPrepareWithoutCandidate(t *testing.T) {
	t.Parallel()
	s := newFakeSetup(t, oldInclude)
	s.nginx.onReload = func(_ context.Context, n int) error {
		s.respawn(n)
		return nil
	}
	p, err := s.sw.Prepare(context.Background(), []byte(newInclude)) // the fake refuses nginx -T
	require.NoError(t, err)
	assert.False(t, p.Validated)
	assert.Contains(t, p.Why, "nginx -T failed")
	assert.Contains(t, s.logs.String(), "the new include will be tested at the switch: nginx -T failed")
	_, err = s.sw.Commit(context.Background(), p)
	require.NoError(t, err)
	tests, reloads := s.nginx.counts()
	assert.Equal(t, []int{1, 1}, []int{tests, reloads})
}

// TestPrepareRejected: a candidate nginx rejects fails Prepare with nginx's
// message; nothing was written or reloaded.
func TestPrepareRejected(t *testing.T) {
	t.Parallel()
	s := newFakeSetup(t, oldInclude)
	s.withDump()
	s.nginx.onTest = func(int) error { return exitErr(s.sw.TestCmd, "nginx: [emerg] invalid URL prefix") }
	p, err := s.sw.Prepare(context.Background(), []byte(newInclude))
	require.ErrorIs(t, err, ErrConfigTest)
	assert.Nil(t, p)
	assert.Contains(t, err.Error(), "invalid URL prefix")
	assert.Equal(t, oldInclude, s.include(t))
	_, reloads := s.nginx.counts()
	assert.Zero(t, reloads)

	_, err = (&Switcher{}).Prepare(context.Background(), []byte(newInclude))
	assert.Error(t, err, "a Switcher without an include path is refused")
	_, err = (&Switcher{}).Commit(context.Background(), &Prepared{})
	assert.Error(t, err)
	var xe *execx.Error
	assert.False(t, errors.As(err, &xe), "refused before any command ran")
}

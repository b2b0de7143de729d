package nginx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

// TestTestCandidate: the candidate is built from nginx -T's dump, tested
// with the test command pointed at it, and removed; nginx's rejection
// names the real paths. Where no candidate can be made, it says why and
// tests nothing.
func TestTestCandidate(t *testing.T) {
	t.Parallel()
	etc := t.TempDir()
	inc := filepath.Join(etc, "service-url.inc")
	dump := "# configuration file " + etc + "/nginx.conf:\nhttp { server { include " + inc + "; } }\n\n" +
		"# configuration file " + inc + ":\nset $service_url http://127.0.0.1:8081;\n"
	next := []byte("set $service_url http://127.0.0.1:8082;\n")

	var calls [][]string
	var seen string // the candidate's include as nginx -t read it
	var candidateMain string
	reject := false
	sw := &Switcher{IncludePath: inc, TestCmd: []string{"/usr/sbin/nginx", "-t"}, Run: func(_ context.Context, args []string) (execx.Result, error) {
		calls = append(calls, args)
		if args[1] == "-T" {
			return execx.Result{Stdout: dump}, nil
		}
		candidateMain = args[len(args)-1]
		root := strings.TrimSuffix(candidateMain, etc+"/nginx.conf")
		b, err := os.ReadFile(filepath.Join(root, inc))
		require.NoError(t, err)
		seen = string(b)
		if reject {
			return execx.Result{}, errors.New("nginx: [emerg] invalid URL in " + root + inc + ":1")
		}
		return execx.Result{}, nil
	}}
	tested, why, err := sw.testCandidate(context.Background(), next)
	require.NoError(t, err)
	assert.True(t, tested)
	assert.Empty(t, why)
	require.Len(t, calls, 2)
	assert.Equal(t, []string{"/usr/sbin/nginx", "-T"}, calls[0])
	assert.Equal(t, []string{"/usr/sbin/nginx", "-t", "-c"}, calls[1][:3])
	assert.Equal(t, string(next), seen, "nginx -t read the new include")
	_, statErr := os.Stat(candidateMain)
	assert.True(t, os.IsNotExist(statErr), "the candidate was left behind at %s", candidateMain)

	reject = true
	tested, _, err = sw.testCandidate(context.Background(), next)
	assert.True(t, tested)
	require.ErrorIs(t, err, ErrConfigTest)
	assert.Contains(t, err.Error(), "invalid URL in "+inc+":1", "the candidate's root is taken out of nginx's message")

	for _, tt := range []struct {
		name string
		sw   Switcher
		why  string
	}{
		{"in a container", Switcher{IncludePath: inc, TestCmd: []string{"nginx", "-t"}, Owns: func(int) bool { return true }}, "nginx runs in a container"},
		{"no -t", Switcher{IncludePath: inc, TestCmd: []string{"nginx"}}, "has no -t flag"},
		{"dump fails", Switcher{IncludePath: inc, TestCmd: []string{"nginx", "-t"}, Run: func(context.Context, []string) (execx.Result, error) {
			return execx.Result{}, errors.New("permission denied")
		}}, "nginx -T failed: permission denied"},
		{"empty dump", Switcher{IncludePath: inc, TestCmd: []string{"nginx", "-t"}, Run: func(context.Context, []string) (execx.Result, error) {
			return execx.Result{}, nil
		}}, "printed no configuration file"},
		{"no nginx binary", Switcher{IncludePath: inc, TestCmd: []string{"/usr/local/bin/check-proxy", "-t"}, Run: func(context.Context, []string) (execx.Result, error) {
			return execx.Result{Stdout: dump}, nil
		}}, "does not run an nginx binary"},
	} {
		tested, why, err := tt.sw.testCandidate(context.Background(), next)
		assert.NoError(t, err, tt.name)
		assert.False(t, tested, tt.name)
		assert.Contains(t, why, tt.why, tt.name)
	}
}

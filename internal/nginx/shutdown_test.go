package nginx

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

func TestDumpCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []string
		want []string
		ok   bool
	}{
		{[]string{"nginx", "-t"}, []string{"nginx", "-T"}, true},
		{[]string{"nginx", "-qt"}, []string{"nginx", "-qT"}, true},
		{[]string{"docker", "exec", "web", "nginx", "-c", "/etc/nginx/test.conf", "-t"},
			[]string{"docker", "exec", "web", "nginx", "-c", "/etc/nginx/test.conf", "-T"}, true},
		{[]string{"sh", "-c", "nginx -t"}, nil, false},
		{[]string{"nginx", "-s", "reload"}, nil, false},
	}
	for _, tt := range tests {
		got, ok := dumpCommand(tt.in)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func TestWorkerShutdownTimeoutSetFake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		dump string
		want bool
	}{
		{"set", "# configuration file /etc/nginx/nginx.conf:\nuser www-data;\nworker_shutdown_timeout 10s;\n", true},
		{"set on one line", "pid /run/nginx.pid;worker_shutdown_timeout 30s;", true},
		{"commented out", "# worker_shutdown_timeout 10s;\nuser nginx;\n", false},
		{"absent", "events {}\nhttp {}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ran []string
			run := func(_ context.Context, args []string) (execx.Result, error) {
				ran = args
				return execx.Result{Stdout: tt.dump}, nil
			}
			got, err := WorkerShutdownTimeoutSet(context.Background(), run, []string{"nginx", "-t"})
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, []string{"nginx", "-T"}, ran)
		})
	}
	_, err := WorkerShutdownTimeoutSet(context.Background(), nil, []string{"sh", "-c", "nginx -t"})
	assert.ErrorContains(t, err, "has no -t flag to replace with -T")
	failing := func(_ context.Context, args []string) (execx.Result, error) {
		return execx.Result{}, exitErr(args, "nginx: [emerg] bad")
	}
	_, err = WorkerShutdownTimeoutSet(context.Background(), failing, []string{"nginx", "-t"})
	assert.ErrorContains(t, err, "failed to dump the nginx config")
}

package nginx

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

var workerShutdownRE = regexp.MustCompile(`(^|[\s;{}])worker_shutdown_timeout\s`)

// WorkerShutdownTimeoutSet reports whether nginx's effective config sets
// worker_shutdown_timeout. It has no default, so without it a WebSocket or
// long poll keeps an old worker, and traffic to the old color, alive
// until the drain cap; the deploy warns about it. The config is dumped by
// running testCmd with its -t flag replaced by -T. run nil means
// execx.Run.
func WorkerShutdownTimeoutSet(ctx context.Context, run RunFunc, testCmd []string) (bool, error) {
	if run == nil {
		run = execx.Run
	}
	dump, ok := dumpCommand(testCmd)
	if !ok {
		return false, fmt.Errorf("failed to dump the nginx config: the test command %q has no -t flag to replace with -T",
			strings.Join(testCmd, " "))
	}
	res, err := run(ctx, dump)
	if err != nil {
		return false, fmt.Errorf("failed to dump the nginx config: %w", err)
	}
	return shutdownTimeoutIn(res.Stdout), nil
}

// shutdownTimeoutIn reports whether the dump of nginx -T sets
// worker_shutdown_timeout outside comments.
func shutdownTimeoutIn(dump string) bool {
	return workerShutdownRE.MatchString(stripComments([]byte(dump)))
}

// dumpCommand replaces the -t flag (also inside a group such as -qt) with -T.
func dumpCommand(testCmd []string) ([]string, bool) {
	out := append([]string(nil), testCmd...)
	for i, a := range out {
		if len(a) < 2 || a[0] != '-' || strings.Trim(a[1:], "?hvVtTq") != "" || !strings.Contains(a, "t") {
			continue
		}
		out[i] = strings.ReplaceAll(a, "t", "T")
		return out, true
	}
	return nil, false
}

// LongLivedWarning is the preflight warning for an nginx without
// worker_shutdown_timeout: what a switch does to WebSockets and
// server-sent-events streams (measured in TestRealLongLivedConnectionsAcrossSwitch).
func LongLivedWarning(drainTimeout time.Duration) string {
	return fmt.Sprintf("nginx sets no worker_shutdown_timeout: a WebSocket or server-sent-events stream opened before a switch stays on the old color, "+
		"held by an old nginx worker, until it closes by itself or until drain-timeout (%s) ends the drain and the old color is stopped, which cuts it; "+
		"clients must reconnect, and then reach the new color. Set worker_shutdown_timeout (for example 10s, shorter than drain-timeout) "+
		"in nginx.conf's main context to have nginx close them soon after each switch instead (see docs/zero-downtime.md)", drainTimeout)
}

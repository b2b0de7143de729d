//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkFleet prints the time of a fleet deploy of 1, 2 and 3 hosts,
// one at a time and all at once, beside a single-host deploy (the binary
// run on host 1 itself, in its namespaces) in the same run. One at a time
// should grow linearly with the hosts; all at once should stay near one
// host's time.
//
//	go test -tags e2e ./e2e -run '^$' -bench Fleet -benchtime 2x
func BenchmarkFleet(b *testing.B) {
	e := newFleetEnv(b, 3)
	ctx := context.Background()
	// A first deploy everywhere, so that every measured run switches.
	r := e.deploy(ctx, b, "b0", e.version("b0", nil), map[string]string{"max-parallel": "3"}, nil)
	require.Equal(b, 0, r.code, r.out)

	type shape struct {
		name     string
		hosts    int
		parallel int
	}
	shapes := []shape{{"fleet-1host", 1, 1}, {"fleet-2hosts-serial", 2, 1}, {"fleet-3hosts-serial", 3, 1}, {"fleet-2hosts-parallel", 2, 3}, {"fleet-3hosts-parallel", 3, 3}}
	totals := map[string]time.Duration{}
	stages := map[string]string{}
	seq := 0
	next := func() (string, string) {
		seq++
		v := fmt.Sprintf("b%d", seq)
		return v, e.version(v, nil)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, img := next()
		totals["single-host"] += e.singleHost(b, v, img)
		for _, s := range shapes {
			v, img := next()
			extra := e.fleetHosts(s.hosts)
			extra["max-parallel"] = fmt.Sprint(s.parallel)
			r := e.deploy(ctx, b, v, img, extra, nil)
			require.Equal(b, 0, r.code, r.out)
			totals[s.name] += r.took
			stages[s.name] = stageTimes(r.out)
		}
	}
	b.StopTimer()
	one := totals["single-host"]
	lines := []string{fmt.Sprintf("single-host deploy (binary on host 1): %s", (one / time.Duration(b.N)).Round(time.Millisecond))}
	b.ReportMetric(float64(one.Milliseconds())/float64(b.N), "single-host-ms")
	for _, s := range shapes {
		d := totals[s.name]
		b.ReportMetric(float64(d.Milliseconds())/float64(b.N), s.name+"-ms")
		lines = append(lines, fmt.Sprintf("%-22s %s (%.2fx the single-host deploy, %.2fx the one-host fleet)\n    last run: %s", s.name+":", (d/time.Duration(b.N)).Round(time.Millisecond),
			float64(d)/float64(one), float64(d)/float64(totals["fleet-1host"]), stages[s.name]))
	}
	// Printed, not logged: a benchmark's log is cut after a few lines.
	fmt.Println(strings.Join(lines, "\n"))
}

// stageTimes picks a rollout's stage times out of its log.
func stageTimes(out string) string {
	var parts []string
	for _, line := range strings.Split(out, "\n") {
		if name, took, ok := strings.Cut(strings.TrimSpace(line), " took "); ok && !strings.Contains(name, " | ") {
			parts = append(parts, name+" "+took)
		}
	}
	return strings.Join(parts, ", ")
}

// singleHost deploys v on host 1 the way a single-host workflow does: the
// binary run on the host itself (here: in its namespaces), no fleet.
func (e *fleetEnv) singleHost(tb testing.TB, v, img string) time.Duration {
	tb.Helper()
	h := e.fleet.hosts[0]
	inputs := map[string]string{}
	for k, val := range e.inputs {
		if !strings.HasPrefix(k, "ssh-") && !strings.HasPrefix(k, "docker-tls-") && k != "hosts" {
			inputs[k] = val
		}
	}
	inputs["image"] = img
	inputs["keep-previous"] = "true"
	// -w: the init's working directory, /. nsenter's --wd=DIR would open
	// DIR in this mount namespace, where the binary's getwd cannot reach
	// it; the workspace comes from GITHUB_WORKSPACE. (No shell in
	// between: dash drops variables with a hyphen, as INPUT_* have.)
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(h.initPID(tb)), "-m", "-n", "-p", "-w", e.bin)
	cmd.Env = append(stageEnviron(inputs), "APP_IMAGE="+e.app, "VERSION="+v, "GITHUB_WORKSPACE="+e.dir)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	require.NoError(tb, err, string(out))
	return took
}

// fleetHosts narrows the inputs to the first n hosts.
func (e *fleetEnv) fleetHosts(n int) map[string]string {
	lines := strings.Split(e.inputs["hosts"], "\n")
	return map[string]string{"hosts": strings.Join(lines[:n], "\n")}
}

package fleet

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
)

func TestResultLine(t *testing.T) {
	t.Parallel()
	res := &deploy.Result{DeployID: "d1", Mode: config.ModeDeploy, Previous: color.Blue, Target: color.Green, Active: color.Blue, Image: "app:v2",
		Elapsed: 1500 * time.Millisecond, Phases: []deploy.Phase{{Kind: deploy.PhaseHealth, Name: "Health check", Duration: time.Second, Err: errors.New("x")}}}
	pe := &deploy.PhaseError{Kind: deploy.PhaseHealth, Phase: "Health check", Err: errors.New("got 500\n::error::forged"), Undone: "Removed app-green."}
	hr := FromDeploy(res, pe, []compose.Container{{Image: "app:v1"}})
	line := ResultLine("tok123", hr)
	require.NotContains(t, line, "\n", "one line whatever the cause holds")
	got, ok := ParseResultLine("tok123", line)
	require.True(t, ok)
	require.Equal(t, "blue", got.Active)
	require.Equal(t, []string{"app:v1"}, got.Running)
	require.Equal(t, "got 500\n::error::forged", got.Failure.Cause)
	require.Equal(t, "Health check", got.Failure.Phase)
	require.Equal(t, int64(1000), got.Phases[0].MS)

	for _, forged := range []string{
		ResultLine("other", hr),                     // another token
		"    " + line,                               // an indented log line
		strings.Replace(line, `"blue"`, `"| x"`, 1), // not a color
		hosthelper.TokenLine("tok123", "locked"),
	} {
		_, ok := ParseResultLine("tok123", forged)
		require.False(t, ok, forged)
	}
	_, ok = ParseResultLine("", line)
	require.False(t, ok)
}

func TestOutputsAgree(t *testing.T) {
	t.Parallel()
	mk := func(active, port string) *HostResult {
		return &HostResult{Active: active, Outputs: map[string]string{"active-color": active, "active-port": port, "deploy-id": active + port, "previous-color": "blue"}}
	}
	o := &Outcome{Hosts: []*HostOutcome{
		{Host: Host{Name: "a"}, Result: mk("green", "8082"), Status: StatusDeployed},
		{Host: Host{Name: "b"}, Result: mk("green", "8082"), Status: StatusDeployed},
	}}
	got := map[string]string{}
	for _, kv := range o.Outputs() {
		got[kv[0]] = kv[1]
	}
	require.Equal(t, "green", got["active-color"])
	require.Equal(t, "8082", got["active-port"])
	require.Equal(t, "green8082", got["deploy-id"])
	require.Contains(t, got[HostsResultOutput], `"host":"a"`)

	o.Hosts[1].Result = mk("blue", "8081")
	got = map[string]string{}
	for _, kv := range o.Outputs() {
		got[kv[0]] = kv[1]
	}
	require.Empty(t, got["active-color"], "hosts disagree")
	require.Equal(t, "blue", got["previous-color"])
}

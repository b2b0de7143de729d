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

// TestCheckRefusesForgedResults: a host that was taken over can send any
// result back; the runner passes on none whose fields have another form
// than theirs, and none whose port or URL is not the one its inputs give
// the color.
func TestCheckRefusesForgedResults(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{Ports: map[color.Color]int{color.Blue: 8081, color.Green: 8082}, UpstreamHost: "127.0.0.1"}
	good := func() *HostResult {
		return &HostResult{
			Mode: config.ModeDeploy, DeployID: "20261129T172155Z-3fa9c2", Previous: "blue", Target: "green", Active: "green",
			Image: "registry.example.com/acme/app:v2", Running: []string{"registry.example.com/acme/app:v2", "sha256:" + strings.Repeat("ab", 32)},
			Phases: []PhaseTime{{Kind: deploy.PhaseHealth, Name: "Health check", MS: 1200}},
			Outputs: map[string]string{
				"active-color": "green", "previous-color": "blue", "active-port": "8082", "active-url": "http://127.0.0.1:8082",
				"image": "registry.example.com/acme/app@sha256:" + strings.Repeat("cd", 32), "rolled-back": "false",
				"deploy-id": "20261129T172155Z-3fa9c2", "staged-color": "", "preview-url": "", "history": "",
			},
		}
	}
	require.NoError(t, good().Check(config.ModeDeploy, cfg))
	for name, forge := range map[string]func(r *HostResult){
		"another mode":                   func(r *HostResult) { r.Mode = config.ModeRollback },
		"a color that is not one":        func(r *HostResult) { r.Active = "green; id" },
		"a deploy id that is not one":    func(r *HostResult) { r.DeployID = "';id;'" },
		"an image with a shell in it":    func(r *HostResult) { r.Image = "app:$(id)" },
		"a running image that is not":    func(r *HostResult) { r.Running = []string{"app v2"} },
		"a phase kind that is not":       func(r *HostResult) { r.Phases[0].Kind = "health\n::error::x" },
		"a negative time":                func(r *HostResult) { r.ElapsedMS = -1 },
		"an active-url of its own":       func(r *HostResult) { r.Outputs["active-url"] = "http://$(id)/" },
		"an active-url on another port":  func(r *HostResult) { r.Outputs["active-url"] = "http://127.0.0.1:8081" },
		"an active-port of its own":      func(r *HostResult) { r.Outputs["active-port"] = "8082 " },
		"an active-port of another":      func(r *HostResult) { r.Outputs["active-port"] = "8081" },
		"an output deploy-id":            func(r *HostResult) { r.Outputs["deploy-id"] = "x`id`" },
		"an output image":                func(r *HostResult) { r.Outputs["image"] = "app:v2'; id; '" },
		"an output color":                func(r *HostResult) { r.Outputs["previous-color"] = "red" },
		"a rolled-back that is not bool": func(r *HostResult) { r.Outputs["rolled-back"] = "yes" },
		"a preview-url of its own":       func(r *HostResult) { r.Outputs["staged-color"], r.Outputs["preview-url"] = "blue", "http://evil/" },
		"an output bluegreen never sets": func(r *HostResult) { r.Outputs["run"] = "id" },
		"a failure kind that is not":     func(r *HostResult) { r.Failure = &Failure{Kind: "x y", Cause: "c"} },
	} {
		r := good()
		forge(r)
		require.Error(t, r.Check(config.ModeDeploy, cfg), name)
	}
	// The preview URL of a staged color is its own URL.
	r := good()
	r.Outputs["staged-color"], r.Outputs["preview-url"] = "blue", "http://127.0.0.1:8081"
	require.NoError(t, r.Check(config.ModeDeploy, cfg))
}

// TestHostsResultIsPlainText: what a host says of its failure reaches
// hosts-result only as plain text: nothing a shell reads as syntax, even
// where a later step pastes the output into a script.
func TestHostsResultIsPlainText(t *testing.T) {
	t.Parallel()
	o := &Outcome{Hosts: []*HostOutcome{{
		Host: Host{Name: "h1"}, Status: StatusFailed,
		Result: &HostResult{Active: "blue", Failure: &Failure{Phase: "Health check", Cause: "got 500 ';id;' $(id) `id` \"x\" \\ | & > < \n::error::x"}},
	}}}
	var value string
	for _, kv := range o.Outputs() {
		if kv[0] == HostsResultOutput {
			value = kv[1]
		}
	}
	require.Contains(t, value, `"error":"Health check: got 500 __id__ __id_ _id_ _x_ _ _ _ _ _ _::error::x"`)
	for _, c := range []string{"'", "$", "`", ";", "|", "&", "<", ">", "\\n", "\\u"} {
		require.NotContains(t, value, c)
	}
	require.Equal(t, "a b.c,d:e/f_g=h+i@j%k#l-m", safeText("a b.c,d:e/f_g=h+i@j%k#l-m"))
	require.Equal(t, 503, len(safeText(strings.Repeat("x", 2000))), "capped")
}

// TestHistoryIsNotPassedOn: each host's history is its own record, which
// the runner cannot check: a fleet leaves the history output empty.
func TestHistoryIsNotPassedOn(t *testing.T) {
	t.Parallel()
	res := &HostResult{Active: "blue", Outputs: map[string]string{"history": `[{"workflow":"'; id; '"}]`, "active-color": "blue"}}
	o := &Outcome{Hosts: []*HostOutcome{{Host: Host{Name: "h1"}, Status: StatusDeployed, Result: res}}}
	for _, kv := range o.Outputs() {
		if kv[0] == "history" {
			require.Empty(t, kv[1])
		}
	}
}

// TestFromDeployTakesWhatServes: a host's result carries what its deploy
// found serving there (the image its traffic container runs, the serving
// deploy's id), never the image the rollout asked for or a fresh id of a
// status run.
func TestFromDeployTakesWhatServes(t *testing.T) {
	t.Parallel()
	res := &deploy.Result{DeployID: "20261207T100000Z-ffffff", Mode: config.ModeStatus, Previous: color.Blue, Active: color.Blue,
		Image: "app:v1", ImageDigest: "app@sha256:1111111111111111111111111111111111111111111111111111111111111111"}
	res.SetServing("20261201T100000Z-aaaaaa")
	hr := FromDeploy(res, nil, []compose.Container{{Image: "app:v1"}})
	require.Equal(t, "app:v1", hr.Image)
	require.Equal(t, "20261201T100000Z-aaaaaa", hr.DeployID, "the serving deploy, not the status run's own id")
	require.Equal(t, "20261201T100000Z-aaaaaa", hr.Outputs["deploy-id"])
	require.Equal(t, res.ImageDigest, hr.Outputs["image-digest"])
	require.NoError(t, hr.Check(config.ModeStatus, &config.Config{}), "image-digest passes the runner's check")
	hr.Outputs["image-digest"] = "$(id)"
	require.Error(t, hr.Check(config.ModeStatus, &config.Config{}), "a forged digest does not")
}

package deploy_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
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

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run %s -update to write it", t.Name())
	require.Equal(t, string(want), got)
}

// TestSummaryGolden: the job summary of each kind of run, as a reader sees
// it: a row only for what the run has to say, phases in order, and what
// failed, why, what to do and what was undone.
func TestSummaryGolden(t *testing.T) {
	t.Parallel()
	phases := []deploy.Phase{
		{Kind: deploy.PhaseStart, Name: "Start green (app-green)", Duration: 812 * time.Millisecond},
		{Kind: deploy.PhaseHealth, Name: "Health check http://127.0.0.1:8082/health", Duration: 1010 * time.Millisecond},
	}
	failed := append(append([]deploy.Phase(nil), phases[:1]...), deploy.Phase{Kind: deploy.PhaseHealth, Name: phases[1].Name, Duration: 3 * time.Second, Err: errors.New("HTTP 503")})
	entries := []ledger.Entry{
		{DeployID: "20261201T100000Z-aaaaaa", Time: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Mode: "deploy", Result: ledger.Succeeded, Active: "blue",
			Images: map[string]ledger.Image{"web": {Ref: "app:v1"}, "worker": {Ref: "worker:1"}}, Commit: "0123456789abcdef0123"},
		{DeployID: "20261202T100000Z-bbbbbb", Time: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Mode: "deploy", Result: ledger.Failed, Active: "blue",
			Images: map[string]ledger.Image{"web": {Ref: "app:v2"}}, Commit: "abc"},
	}
	for name, r := range map[string]*deploy.Result{
		"deployed": {DeployID: "20261203T100000Z-cccccc", Mode: config.ModeDeploy, Previous: color.Blue, Active: color.Green, ActivePort: 8082,
			ActiveURL: "http://127.0.0.1:8082", Image: "app:v3", HealthAttempts: 4, Elapsed: 1900 * time.Millisecond, Phases: phases,
			RetainedImages: []string{"app:v3", "app:v2"}, RemovedImages: []string{"app:v1"}},
		"first": {DeployID: "20261203T100000Z-cccccc", Mode: config.ModeDeploy, Active: color.Blue, Image: "app:v3", Phases: phases[:1]},
		"failed": {DeployID: "20261203T100000Z-cccccc", Mode: config.ModeDeploy, Previous: color.Blue, Active: color.Blue, ActiveURL: "http://127.0.0.1:8081",
			Image: "app:v1", ImageDigest: "app@sha256:1111111111111111111111111111111111111111111111111111111111111111", Phases: failed, Elapsed: 3812 * time.Millisecond, Undone: "Removed the new color app-green. nginx still serves blue.",
			Err: &deploy.PhaseError{Kind: deploy.PhaseHealth, Phase: failed[1].Name, Err: errors.New("HTTP 503"), Hint: "check the health-path",
				Undone: "Removed the new color app-green. nginx still serves blue."}},
		"failed-without-phase": {DeployID: "x", Mode: config.ModeDeploy, Err: errors.New("no Docker")},
		"rolled-back": {DeployID: "20261203T100000Z-dddddd", Mode: config.ModeRollback, Previous: color.Green, Active: color.Blue, RolledBack: true,
			RollbackTo: "20261201T100000Z-aaaaaa", Image: "app:v1", Phases: phases},
		"staged": {DeployID: "20261203T100000Z-eeeeee", Mode: config.ModeStage, Previous: color.Blue, Active: color.Blue, Image: "app:v1",
			Staged: color.Green, StagedImage: "app:v2", PreviewURL: "http://127.0.0.1:8082"},
		"drained": {DeployID: "20261203T100000Z-cccccc", Mode: config.ModeDeploy, Previous: color.Blue, Active: color.Green, Image: "app:v3",
			Drain: nginx.DrainResult{TimedOut: true, OldConnections: 2}},
		"failed-first": {DeployID: "20261203T100000Z-cccccc", Mode: config.ModeDeploy, Phases: []deploy.Phase{{Kind: deploy.PhaseFind, Name: "Find the live color"}},
			Err: errors.New("boom")},
		"status":        {DeployID: "s", Mode: config.ModeStatus, Previous: color.Blue, Active: color.Blue},
		"promoted":      {DeployID: "p", Mode: config.ModePromote, Previous: color.Blue, Active: color.Green},
		"aborted":       {DeployID: "a", Mode: config.ModeAbort, Previous: color.Blue, Active: color.Blue},
		"history":       {DeployID: "h", Mode: config.ModeHistory, History: entries},
		"history-empty": {DeployID: "h", Mode: config.ModeHistory, History: []ledger.Entry{}},
		"history-error": {DeployID: "h", Mode: config.ModeHistory, Err: errors.New("no history is kept on this host")},
	} {
		switch name {
		case "failed":
			r.SetServing("20261201T100000Z-aaaaaa") // blue's deploy still serves
		case "status", "aborted":
			r.SetServing("20261201T100000Z-aaaaaa")
		case "staged", "drained":
			r.SetServing(r.DeployID)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			golden(t, "summary-"+name+".md", r.Summary("app"))
		})
	}
}

// TestOutputs: the step outputs, in their fixed order; a port only when
// something serves.
func TestOutputs(t *testing.T) {
	t.Parallel()
	r := &deploy.Result{DeployID: "d", Previous: color.Blue, Active: color.Green, ActivePort: 8082, ActiveURL: "http://127.0.0.1:8082", Image: "app:v2"}
	assert.Equal(t, [][2]string{
		{"active-color", "green"}, {"previous-color", "blue"}, {"active-port", "8082"}, {"active-url", "http://127.0.0.1:8082"},
		{"image", "app:v2"}, {"image-digest", ""}, {"rolled-back", "false"}, {"deploy-id", "d"}, {"staged-color", ""}, {"preview-url", ""}, {"roles", ""}, {"history", ""},
	}, r.Outputs())
	r = &deploy.Result{DeployID: "d"}
	assert.Equal(t, "", output(r, "active-port"), "no port when nothing serves")
}

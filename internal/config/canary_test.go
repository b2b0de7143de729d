package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseCanary(t *testing.T) {
	t.Parallel()
	cfg, got := problems(t, map[string]string{
		"canary-steps":             "10, 50",
		"canary-interval":          "30s",
		"canary-max-error-rate":    "0.5%",
		"canary-max-latency-ratio": "1.5",
	})
	require.Empty(t, got)
	require.Equal(t, Canary{Steps: []int{10, 50}, Interval: 30 * time.Second, MaxErrorRate: 0.005, MaxLatencyRatio: 1.5}, cfg.Canary)
	require.True(t, cfg.Canary.Enabled())

	cfg, got = problems(t, nil)
	require.Empty(t, got)
	require.Equal(t, Canary{Interval: time.Minute, MaxErrorRate: 0.01}, cfg.Canary, "by default: no steps, 60s, 1 %%, no latency check")
	require.False(t, cfg.Canary.Enabled())

	cfg, got = problems(t, map[string]string{"canary-max-error-rate": "0.02"})
	require.Empty(t, got)
	require.InDelta(t, 0.02, cfg.Canary.MaxErrorRate, 1e-12, "a fraction is read as a fraction")
}

func TestParseCanaryProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		input, value string
		want         []string
	}{
		{input: "canary-steps", value: "1,99"},
		{input: "canary-steps", value: "10%,50%"},
		{input: "canary-steps", value: "0", want: []string{`canary-steps "0": "0" is not a whole percentage from 1 to 99`}},
		{input: "canary-steps", value: "100", want: []string{`"100" is not a whole percentage from 1 to 99`, "the full switch to 100 % follows the last step"}},
		{input: "canary-steps", value: "10,abc", want: []string{`"abc" is not a whole percentage`}},
		{input: "canary-steps", value: "50,10", want: []string{`canary-steps "50,10" must rise step by step: 10 follows 50`}},
		{input: "canary-steps", value: "10,10", want: []string{"10 follows 10"}},
		{input: "canary-steps", value: "1,2,3,4,5,6,7,8,9,10"},
		{input: "canary-steps", value: "1,2,3,4,5,6,7,8,9,10,11", want: []string{"has 11 steps: use at most 10"}},
		{input: "canary-interval", value: "0", want: []string{`canary-interval "0" must be positive`}},
		{input: "canary-interval", value: "soon", want: []string{`canary-interval "soon" is not a duration`}},
		{input: "canary-max-error-rate", value: "0"},
		{input: "canary-max-error-rate", value: "100%"},
		{input: "canary-max-error-rate", value: "101%", want: []string{`canary-max-error-rate "101%" is not a share from 0 % to 100 %`}},
		{input: "canary-max-error-rate", value: "-1%", want: []string{"is not a share"}},
		{input: "canary-max-error-rate", value: "1.5", want: []string{"is not a share"}},
		{input: "canary-max-error-rate", value: "NaN", want: []string{"is not a share"}},
		{input: "canary-max-latency-ratio", value: "1"},
		{input: "canary-max-latency-ratio", value: "1000"},
		{input: "canary-max-latency-ratio", value: "1000.5", want: []string{"is not a factor"}},
		{input: "canary-max-latency-ratio", value: "0.5", want: []string{`canary-max-latency-ratio "0.5" is not a factor: give 0 to turn the latency check off, or a number from 1 to 1000`}},
		{input: "canary-max-latency-ratio", value: "fast", want: []string{"is not a factor"}},
		{input: "fleet-canary", value: "1", want: []string{"fleet-canary 1 is only read with hosts"}},
		{input: "fleet-canary", value: "-1", want: []string{`fleet-canary "-1" is not a whole number of 0 or more`}},
	}
	for _, tt := range tests {
		_, got := problems(t, map[string]string{tt.input: tt.value})
		t.Run(tt.input+"="+tt.value, func(t *testing.T) {
			requireProblem(t, got, tt.want...)
		})
	}
}

func TestParseFleetCanaryNeedsFewerHosts(t *testing.T) {
	t.Parallel()
	hosts := "tcp://a.example:2376\ntcp://b.example:2376"
	tls := map[string]string{"hosts": hosts, "docker-tls-ca": "x", "docker-tls-cert": "x", "docker-tls-key": "x"}
	in := func(n string) map[string]string {
		m := map[string]string{"fleet-canary": n}
		for k, v := range tls {
			m[k] = v
		}
		return m
	}
	cfg, got := problems(t, in("1"))
	require.Empty(t, got)
	require.Equal(t, 1, cfg.Canary.FleetHosts)
	_, got = problems(t, in("2"))
	requireProblem(t, got, "fleet-canary 2 must be fewer than the 2 hosts listed in hosts")
}

func TestParseMaintenanceModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []Mode{ModeMaintenance, ModeLive} {
		cfg, got := problems(t, map[string]string{"mode": string(mode)})
		require.Empty(t, got)
		require.Equal(t, mode, cfg.Mode)
		require.True(t, cfg.Mode.TrafficOnly())
	}
	require.False(t, ModeDeploy.TrafficOnly())
}

func TestParseMaintenancePage(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "docker-compose.yml")
	page := filepath.Join(dir, "maintenance.html")
	require.NoError(t, os.WriteFile(page, []byte("<h1>back soon</h1>"), 0o644))
	base := map[string]string{"GITHUB_WORKSPACE": dir, "INPUT_NGINX-INCLUDE-PATH": filepath.Join(dir, "x.inc"), "INPUT_MODE": "maintenance"}
	parse := func(v string) (*Config, error) {
		m := map[string]string{"INPUT_MAINTENANCE-PAGE": v}
		for k, val := range base {
			m[k] = val
		}
		return Parse(env(m), dir)
	}
	cfg, err := parse("maintenance.html")
	require.NoError(t, err)
	real, _ := filepath.EvalSymlinks(page)
	require.Equal(t, real, cfg.Maintenance.Page)

	_, err = parse("missing.html")
	require.ErrorContains(t, err, `maintenance-page "missing.html" does not exist`)

	outside := filepath.Join(t.TempDir(), "page.html")
	require.NoError(t, os.WriteFile(outside, []byte("x"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link.html")))
	_, err = parse("link.html")
	require.ErrorContains(t, err, `maintenance-page "link.html" is outside working-directory`)
	_, err = parse("../" + filepath.Base(filepath.Dir(outside)) + "/page.html")
	require.Error(t, err)

	big := filepath.Join(dir, "big.html")
	require.NoError(t, os.WriteFile(big, make([]byte, MaxMaintenancePage+1), 0o644))
	_, err = parse("big.html")
	require.ErrorContains(t, err, "use at most 1048576")

	cfg, got := problems(t, map[string]string{"maintenance-page": "maintenance.html"})
	require.Empty(t, got)
	require.Empty(t, cfg.Maintenance.Page)
	require.Contains(t, cfg.Warnings, "maintenance-page is read by mode: maintenance only; mode deploy ignores it")
}

func TestParseCanaryStepsOutsideDeployWarns(t *testing.T) {
	t.Parallel()
	cfg, got := problems(t, map[string]string{"mode": "rollback", "canary-steps": "10"})
	require.Empty(t, got)
	require.Equal(t, []string{"canary-steps is read by mode: deploy and promote only; mode rollback switches at once"}, cfg.Warnings)
	cfg, got = problems(t, map[string]string{"mode": "promote", "canary-steps": "10"})
	require.Empty(t, got)
	require.Empty(t, cfg.Warnings)
}

// TestParseMaintenancePageThroughALinkedWorkspace: a working directory
// reached through a symbolic link still holds its page.
func TestParseMaintenancePageThroughALinkedWorkspace(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "docker-compose.yml")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "down.html"), []byte("x"), 0o644))
	link := filepath.Join(t.TempDir(), "ws")
	require.NoError(t, os.Symlink(dir, link))
	cfg, err := Parse(env(map[string]string{"GITHUB_WORKSPACE": link, "INPUT_NGINX-INCLUDE-PATH": filepath.Join(dir, "x.inc"),
		"INPUT_MODE": "maintenance", "INPUT_MAINTENANCE-PAGE": "down.html"}), link)
	require.NoError(t, err)
	real, _ := filepath.EvalSymlinks(filepath.Join(dir, "down.html"))
	require.Equal(t, real, cfg.Maintenance.Page)
}

package config

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// problems parses inputs (INPUT_ names without the prefix, in lower case)
// in a workspace with the default compose file and returns the problems.
func problems(t *testing.T, inputs map[string]string, extra ...string) (*Config, []string) {
	t.Helper()
	dir := workspace(t, "docker-compose.yml")
	m := map[string]string{"GITHUB_WORKSPACE": dir, "INPUT_NGINX-INCLUDE-PATH": filepath.Join(dir, "x.inc")}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	for k, v := range inputs {
		m["INPUT_"+strings.ToUpper(k)] = v
	}
	cfg, err := Parse(env(m), dir)
	if err == nil {
		return cfg, nil
	}
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	return cfg, verr.Problems
}

// requireProblem checks that there is exactly one problem and that it has
// every part of want, or that there is none when want is empty.
func requireProblem(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(want) == 0 {
		require.Empty(t, got)
		return
	}
	require.Len(t, got, 1, strings.Join(got, "\n"))
	for _, w := range want {
		require.Contains(t, got[0], w)
	}
}

func TestUpstreamHost(t *testing.T) {
	t.Parallel()
	refused := []string{"upstream-host ", "is not a host name or IP address", "for example host.docker.internal", "127.0.0.1 or ::1"}
	tests := []struct {
		in, want string // want is the stored host; empty when refused
	}{
		{in: "127.0.0.1", want: "127.0.0.1"},
		{in: "localhost", want: "localhost"},
		{in: "host.docker.internal", want: "host.docker.internal"},
		{in: "app-1.example.com", want: "app-1.example.com"},
		{in: "10.0.0.7", want: "10.0.0.7"},
		{in: "::1", want: "::1"},
		{in: "[::1]", want: "::1"},
		{in: "2001:db8::8a2e:370:7334", want: "2001:db8::8a2e:370:7334"},
		{in: "$http_x_backend"},
		{in: "localhost#"},
		{in: "a b"},
		{in: "x;y"},
		{in: "x/y"},
		{in: "{x}"},
		{in: "-host"},
		{in: "host-"},
		{in: "a..b"},
		{in: "under_score"},
		{in: strings.Repeat("a", 64) + ".com"},
		{in: "10.0.0"},
		{in: "127.0.0.256"},
		{in: "[127.0.0.1]"},
		{in: "fe80::1%eth0"},
		{in: "127.0.0.1\n::error::pwned"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			cfg, got := problems(t, map[string]string{"upstream-host": tt.in})
			if tt.want != "" {
				requireProblem(t, got)
				require.Equal(t, tt.want, cfg.UpstreamHost)
				return
			}
			requireProblem(t, got, append([]string{"upstream-host " + strconv.Quote(tt.in)}, refused...)...)
		})
	}
}

func TestImage(t *testing.T) {
	t.Parallel()
	example := "for example ghcr.io/acme/app:1.2.3"
	tests := []struct {
		in   string
		want []string // parts of the problem; none means valid
	}{
		{in: "ghcr.io/acme/app:1.2.3"},
		{in: "nginx"},
		{in: "localhost:5000/app:v1"},
		{in: "app:TAG"},
		{in: "ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64)},
		{in: "ghcr.io/acme/app:1.2.3\n::set-output name=x::y", want: []string{"control character such as a newline", example}},
		{in: "ghcr.io/acme/app 1.2.3", want: []string{"contains white space", example}},
		{in: "ghcr.io/Acme/app:1", want: []string{"repository must be lower case", example}},
		{in: "app@sha256:abc", want: []string{"not in Docker's reference format", example}},
		{in: "app:", want: []string{"not in Docker's reference format"}},
		{in: "ghcr.io/" + strings.Repeat("a", 256), want: []string{"must not be more than 255 characters", example}},
		{in: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", want: []string{"image ID, not a name"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			cfg, got := problems(t, map[string]string{"image": tt.in})
			if len(tt.want) == 0 {
				requireProblem(t, got)
				require.Equal(t, tt.in, cfg.Image)
				return
			}
			requireProblem(t, got, append([]string{"image " + strconv.Quote(tt.in) + " is not an image reference"}, tt.want...)...)
			require.NotContains(t, got[0], "\n", "the value is quoted, never raw")
		})
	}
}

func TestProjectNameLength(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 49)
	tests := []struct {
		name   string
		inputs map[string]string
		repo   string
		want   []string
	}{
		{name: "at the cap", inputs: map[string]string{"project-name": strings.Repeat("a", 48)}},
		{name: "over the cap", inputs: map[string]string{"project-name": long},
			want: []string{`project-name "` + long + `" is 49 characters long`, "use at most 48", `for example "` + strings.Repeat("a", 48) + `"`, "<project-name>-green-<service>-1", "63"}},
		{name: "300 characters", inputs: map[string]string{"project-name": strings.Repeat("x", 300)},
			want: []string{"is 300 characters long", "use at most 48"}},
		{name: "derived from the repository", repo: "acme/" + strings.Repeat("b", 60),
			want: []string{"project-name is not set", `derived from the repository, "` + strings.Repeat("b", 60) + `"`, "set project-name to at most 48 characters"}},
		{name: "derived, short", repo: "acme/app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got := problems(t, tt.inputs, "GITHUB_REPOSITORY", tt.repo)
			requireProblem(t, got, tt.want...)
		})
	}
}

// TestProblemsQuoteValues sets every input to a value that would start a
// workflow command if it reached the job log raw, and checks that no
// problem carries a line break: each echoed value is quoted with %q.
func TestProblemsQuoteValues(t *testing.T) {
	t.Parallel()
	for _, in := range Inputs {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			_, got := problems(t, map[string]string{in.Name: "bad\n::error::injected\r\n::add-mask::x"})
			for _, p := range got {
				require.NotContains(t, p, "\n", "input %s: problem has a raw line break: %s", in.Name, p)
				require.NotContains(t, p, "\r", "input %s: problem has a raw line break: %s", in.Name, p)
			}
		})
	}
}

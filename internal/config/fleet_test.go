package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseEndpoint(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want, problem string
	}{
		{in: "ssh://deploy@10.0.1.11", want: "deploy@10.0.1.11:22"},
		{in: "ssh://deploy@web-1.internal:2222", want: "deploy@web-1.internal:2222"},
		{in: "SSH://deploy@[fd00::1]", want: "deploy@[fd00::1]:22"},
		{in: "tcp://10.0.1.12:2376", want: "10.0.1.12:2376"},
		{in: "tcp://10.0.1.12", want: "10.0.1.12:2376"},
		{in: "10.0.1.11", problem: "is not a Docker endpoint"},
		{in: "ssh://10.0.1.11", problem: "names no user"},
		{in: "ssh://deploy:hunter2@10.0.1.11", problem: "holds a password"},
		{in: "http://10.0.1.11", problem: `has scheme "http"`},
		{in: "unix:///var/run/docker.sock", problem: "is not a Docker endpoint"},
		{in: "tcp://10.0.1.12:99999", problem: "is not a TCP port"},
		{in: "tcp://me@10.0.1.12", problem: "has a user"},
		{in: "ssh://deploy@10.0.1.11/var/run/docker.sock", problem: "has a path"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			e, problem := ParseEndpoint(c.in)
			if c.problem != "" {
				require.Contains(t, problem, c.problem)
				require.NotContains(t, problem, "hunter2", "a password is never quoted")
				return
			}
			require.Empty(t, problem)
			require.Equal(t, c.want, e.String())
		})
	}
}

func TestParseFleet(t *testing.T) {
	t.Parallel()
	base := func(extra map[string]string) map[string]string {
		dir := workspace(t, "docker-compose.yml")
		m := map[string]string{"GITHUB_WORKSPACE": dir, "GITHUB_REPOSITORY": "acme/app"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	t.Run("ssh and tcp hosts", func(t *testing.T) {
		t.Parallel()
		cfg, err := Parse(env(base(map[string]string{
			"INPUT_HOSTS":           "ssh://deploy@10.0.1.11\n\n  ssh://deploy@10.0.1.12:2222\n# a comment\ntcp://10.0.1.13:2376\n",
			"INPUT_SSH-PRIVATE-KEY": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----",
			"INPUT_SSH-KNOWN-HOSTS": "10.0.1.11 ssh-ed25519 AAAA",
			"INPUT_DOCKER-TLS-CA":   "ca", "INPUT_DOCKER-TLS-CERT": "cert", "INPUT_DOCKER-TLS-KEY": "key",
			"INPUT_MAX-PARALLEL": "2", "INPUT_FLEET-FAILURE": "stop",
			// The include's directory is each host's, not the runner's.
			"INPUT_NGINX-INCLUDE-PATH": "/nonexistent/conf.d/service-url.inc",
		})), "/")
		require.NoError(t, err)
		require.True(t, cfg.Fleet.Enabled())
		var names []string
		for _, h := range cfg.Fleet.Hosts {
			names = append(names, h.String())
		}
		require.Equal(t, []string{"deploy@10.0.1.11:22", "deploy@10.0.1.12:2222", "10.0.1.13:2376"}, names)
		require.Equal(t, 2, cfg.Fleet.MaxParallel)
		require.Equal(t, FleetStop, cfg.Fleet.Failure)
	})
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		cfg, err := Parse(env(base(map[string]string{"INPUT_NGINX-INCLUDE-PATH": t.TempDir() + "/x.inc"})), "/")
		require.NoError(t, err)
		require.False(t, cfg.Fleet.Enabled())
		require.Equal(t, 1, cfg.Fleet.MaxParallel)
		require.Equal(t, FleetRollback, cfg.Fleet.Failure)
	})
	t.Run("every problem at once", func(t *testing.T) {
		t.Parallel()
		_, err := Parse(env(base(map[string]string{
			"INPUT_HOSTS":         "ssh://deploy@10.0.1.11\nssh://deploy@10.0.1.11:22\ntcp://10.0.1.13\nftp://x",
			"INPUT_MAX-PARALLEL":  "0",
			"INPUT_FLEET-FAILURE": "ignore",
		})), "/")
		require.Error(t, err)
		msg := err.Error()
		for _, want := range []string{
			"deploy@10.0.1.11:22 is listed twice",
			`has scheme "ftp"`,
			"ssh-private-key is empty",
			"ssh-known-hosts is empty",
			"docker-tls-ca, docker-tls-cert, docker-tls-key is empty",
			`max-parallel "0"`,
			`fleet-failure "ignore" is not valid: use one of rollback, stop`,
		} {
			require.Contains(t, msg, want)
		}
		require.False(t, strings.Contains(msg, "nginx-include-path"), "the include is checked on each host")
	})
}

func TestFleetRequested(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"":                               false,
		"  \n# all hosts retired\n":      false,
		"ssh://deploy@10.0.1.11":         true,
		"# web\ntcp://10.0.1.12:2376\n":  true,
		"not an endpoint, still a fleet": true,
	} {
		require.Equal(t, want, FleetRequested(env(map[string]string{"INPUT_HOSTS": in})), "%q", in)
	}
}

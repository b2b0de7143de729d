package config

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseHealthRequest(t *testing.T) {
	t.Parallel()
	cfg, got := problems(t, map[string]string{
		"health-host":         "www.example.com",
		"health-headers":      "Authorization: Bearer s3cret\n\n  x-tenant :  acme  \nX-Tenant: beta\r\n",
		"health-scheme":       "HTTPS",
		"health-insecure-tls": "true",
	})
	require.Empty(t, got)
	h := cfg.Health
	require.Equal(t, "www.example.com", h.Host)
	require.Equal(t, "https", h.Scheme)
	require.True(t, h.InsecureTLS)
	require.Equal(t, http.Header{"Authorization": {"Bearer s3cret"}, "X-Tenant": {"acme", "beta"}}, h.Headers)
	require.Empty(t, cfg.Warnings)

	cfg, got = problems(t, nil)
	require.Empty(t, got)
	require.Equal(t, Health{Path: "/", Accept: cfg.Health.Accept, Retries: 30, Interval: cfg.Health.Interval, StartInterval: cfg.Health.StartInterval,
		Timeout: cfg.Health.Timeout, Scheme: "http"}, cfg.Health, "by default: no Host header, no headers, plain http")
}

func TestParseHealthInsecureTLSWithoutHTTPSWarns(t *testing.T) {
	t.Parallel()
	cfg, got := problems(t, map[string]string{"health-insecure-tls": "true"})
	require.Empty(t, got)
	require.Equal(t, []string{`health-insecure-tls is true but health-scheme is "http", so it has no effect: set health-scheme: https to probe over TLS`}, cfg.Warnings)
}

func TestParseHealthProblems(t *testing.T) {
	t.Parallel()
	long := "/" + strings.Repeat("a", 120_000)
	tests := []struct {
		input, value string
		want         []string // parts of the one problem; none means valid
	}{
		{input: "health-path", value: "/api/health?full=1"},
		{input: "health-path", value: "/a%20b"},
		{input: "health-path", value: "/" + strings.Repeat("a", MaxHealthPathLen-1)},
		{input: "health-path", value: "/" + strings.Repeat("a", MaxHealthPathLen), want: []string{`health-path "/aaa`, `"… is 1025 bytes long: use at most 1024`}},
		{input: "health-path", value: long, want: []string{"is 120001 bytes long"}},
		{input: "health-path", value: "/health\nX-Injected: 1", want: []string{`health-path "/health\nX-Injected: 1" contains a control character such as a line break`}},
		{input: "health-path", value: "/health\x00", want: []string{"contains a control character"}},
		{input: "health-path", value: "/my health", want: []string{`health-path "/my health" contains white space: percent-encode it (%20)`}},
		{input: "health-path", value: "health", want: []string{`health-path "health" must start with / (for example /api/health)`}},
		{input: "health-path", value: "/a%zz", want: []string{`health-path "/a%zz" is not a URL path`}},
		{input: "health-path", value: "//evil.example/x"}, // a path on the color, as any other
		{input: "health-host", value: "www.example.com"},
		{input: "health-host", value: "example.com:8443"},
		{input: "health-host", value: "10.0.0.1"},
		{input: "health-host", value: "[::1]:8080"},
		{input: "health-host", value: "localhost"},
		{input: "health-host", value: "www.example.com\r\nX-Evil: 1", want: []string{`health-host "www.example.com\r\nX-Evil: 1" is not a host name or IP address with an optional port`, "for example www.example.com or example.com:8443"}},
		{input: "health-host", value: "http://example.com", want: []string{"is not a host name"}},
		{input: "health-host", value: "example.com:0", want: []string{"is not a host name"}},
		{input: "health-host", value: "example.com:99999", want: []string{"is not a host name"}},
		{input: "health-host", value: "example.com:+80", want: []string{"is not a host name"}},
		{input: "health-host", value: "::1", want: []string{"is not a host name"}},
		{input: "health-host", value: "[::1", want: []string{"is not a host name"}},
		{input: "health-host", value: "[example.com]:80", want: []string{"is not a host name"}},
		{input: "health-host", value: "[10.0.0.1]", want: []string{"is not a host name"}},
		{input: "health-host", value: "exa mple.com", want: []string{"is not a host name"}},
		{input: "health-scheme", value: "ftp", want: []string{`health-scheme "ftp" is not valid: use one of http, https`}},
		{input: "health-insecure-tls", value: "sure", want: []string{`health-insecure-tls "sure" is not a boolean`}},
		{input: "health-headers", value: "X-Token: a:b:c"},
		{input: "health-headers", value: "X-Empty:"},
		{input: "health-headers", value: "Bearer hunter2", want: []string{"health-headers line 1 has no colon: write one header a line as Name: value"}},
		{input: "health-headers", value: "X-Ok: 1\nX Token: hunter2", want: []string{`health-headers line 2: header name "X Token" is not valid: use letters, digits and -`}},
		{input: "health-headers", value: ": hunter2", want: []string{`health-headers line 1: header name "" is not valid`}},
		{input: "health-headers", value: "X-Token: hun\x00ter2", want: []string{"health-headers line 1: the value of header X-Token contains a control character"}},
		{input: "health-headers", value: "X-Token: hun\tter2", want: []string{"the value of header X-Token contains a control character"}},
		{input: "health-headers", value: "X-Token: " + strings.Repeat("h", MaxHealthHeaderLen-len("X-Token"))},
		{input: "health-headers", value: "X-Token: " + strings.Repeat("h", MaxHealthHeaderLen), want: []string{"health-headers line 1: header X-Token is 4103 bytes long: use at most 4096"}},
		{input: "health-headers", value: "host: www.example.com", want: []string{"health-headers line 1: header Host cannot be set here: use health-host for the Host header"}},
		{input: "health-headers", value: "Transfer-Encoding: chunked", want: []string{"header Transfer-Encoding cannot be set here: a probe is a GET without a body"}},
		{input: "health-headers", value: strings.Repeat("X-A: 1\n", MaxHealthHeaders)},
		{input: "health-headers", value: strings.Repeat("X-A: hunter2\n", MaxHealthHeaders+1), want: []string{"health-headers has 33 headers: give at most 32"}},
	}
	for _, tt := range tests {
		name := tt.input + "=" + tt.value
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, got := problems(t, map[string]string{tt.input: tt.value})
			requireProblem(t, got, tt.want...)
			for _, p := range got {
				require.NotContains(t, p, "hunter2", "a header value is a secret and never printed")
				require.Less(t, len(p), 400, "a long value is cut in the message")
			}
		})
	}
}

// TestParseHealthProblemsAtOnce: every health problem is listed in one
// run.
func TestParseHealthProblemsAtOnce(t *testing.T) {
	t.Parallel()
	_, got := problems(t, map[string]string{
		"health-path":    "health",
		"health-host":    "a b",
		"health-headers": "nocolon\nBad Name: x\nX-Ok: 1",
		"health-scheme":  "gopher",
	})
	require.Len(t, got, 5, strings.Join(got, "\n"))
}

func TestSecretsHealthHeaders(t *testing.T) {
	t.Parallel()
	got := Secrets(env(map[string]string{"INPUT_HEALTH-HEADERS": "Authorization: Bearer s3cret\nX-Empty:\n\nforgotten-name-token\nX-Tenant:acme"}))
	require.Equal(t, []string{"Bearer s3cret", "forgotten-name-token", "acme"}, got)
}

package deploy_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bluegreen-action/bluegreen/internal/deploy/deploytest"
)

// TestEnvFileDollarIsNamedOnce: a $ inside an env_file value, which
// docker compose v2 (and so bluegreen) interpolates while docker-compose
// 1.29 kept it, is warned about once per deploy, naming the file and the
// key and the $$ fix, though both colors' files use the env file; the
// value itself, a secret, is never shown.
func TestEnvFileDollarIsNamedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.rec = &deploytest.Reporter{}
	h.file("app.env", "PASSWORD=s3cr\"et$x\nPLAIN=value\n")
	for _, c := range []string{"blue", "green"} {
		h.file(c+".yml", "services:\n  web:\n    image: app:v1\n    env_file: app.env\n    ports: [\"{"+strings.ToUpper(c)+"}:8080\"]\n")
	}
	h.must(map[string]string{"blue-compose-file": "blue.yml", "green-compose-file": "green.yml"})
	var about []string
	for _, w := range h.rec.Of("warning") {
		if strings.Contains(w, "PASSWORD") {
			about = append(about, w)
		}
		assert.NotContains(t, w, "s3cr", "the value is never shown")
	}
	if assert.Len(t, about, 1, "said once: %q", h.rec.Of("warning")) {
		assert.Contains(t, about[0], "env_file app.env: the value of PASSWORD contains $")
		assert.Contains(t, about[0], "write it as $$")
	}
}

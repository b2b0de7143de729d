package nginx

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestParseDirectivesMalformed: text nginx would refuse (a dump or an
// include is data) is read without reading past its end: a quote ending
// in a backslash, a block without a name, a stray closing brace, an
// upstream without a name.
func TestParseDirectivesMalformed(t *testing.T) {
	t.Parallel()
	assert.NotPanics(t, func() { parseDirectives(`set $x "a\`) })
	ds := parseDirectives("{ listen 80; }\n}\nset $y 1;\n")
	assert.Equal(t, []directive{
		{name: "listen", args: []string{"80"}, blocks: []string{""}},
		{name: "set", args: []string{"$y", "1"}},
	}, ds)
	assert.Empty(t, runtimeHosts([]byte("upstream { }\n"), ""))
}

// TestLogExcerptWithoutErrorLines: a master whose error log says nothing
// new points to the error log instead of quoting an empty excerpt.
func TestLogExcerptWithoutErrorLines(t *testing.T) {
	t.Parallel()
	fs := newFakeProcfs(t)
	fs.add(10, 1, 100, "nginx: master process nginx")
	log := fs.errorLog(10)
	appendFile(t, log, "2024/06/30 10:00:00 [notice] 10#10: signal process started\n")
	targets := []master{{procInfo: procInfo{Process: Process{PID: 10}}}}
	assert.Equal(t, "; see nginx's error log for the reason", logExcerpt(fs.root, targets, map[int]int64{10: 0}))
	appendFile(t, log, "2024/06/30 10:00:01 [emerg] 10#10: bad\n")
	assert.Equal(t, "; error log "+log+" says: 2024/06/30 10:00:01 [emerg] 10#10: bad", logExcerpt(fs.root, targets, map[int]int64{10: 0}))
}

// TestURLHostWithoutHost: a URL whose host part is empty names no host,
// whatever follows it.
func TestURLHostWithoutHost(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"http:///x", "http://?q=1", "https://#f"} {
		host, ok := urlHost(raw)
		assert.False(t, ok, raw)
		assert.Empty(t, host, raw)
	}
	host, ok := urlHost("http://app.internal:8080/x")
	assert.True(t, ok)
	assert.Equal(t, "app.internal", host)
}

package nginx

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestReloadTargets: the masters started with the reload command's config
// are watched; when none is, every master is, with a note when that is
// more than one.
func TestReloadTargets(t *testing.T) {
	t.Parallel()
	m := func(pid int, cmdline string) master {
		return master{procInfo: procInfo{Process: Process{PID: pid}, Cmdline: cmdline}}
	}
	a := m(100, "nginx: master process /usr/sbin/nginx -p /srv/a -c /srv/a/nginx.conf")
	b := m(200, "nginx: master process /usr/sbin/nginx -p /srv/b -c /srv/b/nginx.conf")
	logs := &logBuffer{}
	s := &Switcher{ReloadCmd: []string{"/usr/sbin/nginx", "-p", "/srv/a", "-c", "/srv/a/nginx.conf", "-s", "reload"}, Logf: logs.logf}
	assert.Equal(t, []master{a}, s.targets([]master{a, b}))
	assert.Empty(t, logs.String())

	s.ReloadCmd = []string{"/usr/sbin/nginx", "-p", "/srv/c", "-c", "/srv/c/nginx.conf", "-s", "reload"}
	assert.Equal(t, []master{b}, s.targets([]master{b}), "no master matches: the only one is watched")
	assert.Empty(t, logs.String(), "one master is no ambiguity")
	assert.Equal(t, []master{a, b}, s.targets([]master{a, b}))
	assert.Contains(t, logs.String(), "could not tell which of 2 nginx masters")
}

package report

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
)

// captured is the state of logrus's standard logger while at least one
// Reporter captures it. logrus has one global logger, and tests run
// several deploys in one process at once, so captures are counted: the
// first installs the hook and silences logrus, the last puts logrus back
// as it found it, whatever order they end in.
var captured struct {
	sync.Mutex
	reporters []*Reporter // newest last
	out       io.Writer
	hooks     logrus.LevelHooks
}

// CaptureLogrus routes logrus's standard logger into the Reporter until
// restore is called. compose-go (and the Docker libraries under it) log
// through logrus, which would otherwise print "time=… level=warning
// msg=…" raw to stderr: unreadable in the job log, and with text from a
// compose file in it that nothing cleaned. Warnings and worse become
// Warnf annotations, info lines become Infof lines; debug and trace
// stay below logrus's default level. Meanwhile logrus's own output and
// other hooks are set aside; restore puts them back once no Reporter
// captures any more. When several capture at once, the newest gets the
// lines: logrus cannot tell whose they are.
func (r *Reporter) CaptureLogrus() (restore func()) {
	std := logrus.StandardLogger()
	captured.Lock()
	defer captured.Unlock()
	if len(captured.reporters) == 0 {
		captured.out = std.Out
		std.SetOutput(io.Discard)
		captured.hooks = std.ReplaceHooks(logrus.LevelHooks{})
		std.AddHook(logrusHook{})
	}
	captured.reporters = append(captured.reporters, r)
	var once sync.Once
	return func() {
		once.Do(func() {
			captured.Lock()
			defer captured.Unlock()
			if i := slices.Index(captured.reporters, r); i >= 0 {
				captured.reporters = slices.Delete(captured.reporters, i, i+1)
			}
			if len(captured.reporters) == 0 {
				std.ReplaceHooks(captured.hooks)
				std.SetOutput(captured.out)
				captured.hooks, captured.out = nil, nil
			}
		})
	}
}

// logrusHook hands logrus entries to the newest capturing Reporter.
type logrusHook struct{}

func (logrusHook) Levels() []logrus.Level { return logrus.AllLevels }

func (logrusHook) Fire(e *logrus.Entry) error {
	captured.Lock()
	var r *Reporter
	if n := len(captured.reporters); n > 0 {
		r = captured.reporters[n-1]
	}
	captured.Unlock()
	if r == nil {
		return nil
	}
	msg := e.Message
	if len(e.Data) > 0 {
		keys := make([]string, 0, len(e.Data))
		for k := range e.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString(msg)
		for _, k := range keys {
			b.WriteString(" " + k + "=" + Quote(stringOf(e.Data[k])))
		}
		msg = b.String()
	}
	if e.Level <= logrus.WarnLevel {
		r.mu.Lock()
		said := r.logrusSaid[msg]
		if r.logrusSaid == nil {
			r.logrusSaid = map[string]bool{}
		}
		r.logrusSaid[msg] = true
		r.mu.Unlock()
		if said {
			return nil // the same words from the next load of the files
		}
		r.Warnf("%s", msg)
	} else {
		r.Infof("%s", msg)
	}
	return nil
}

// stringOf renders a logrus field's value; Quote then makes it safe.
func stringOf(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	return fmt.Sprint(v)
}

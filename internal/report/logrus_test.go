package report

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
)

// Not parallel: logrus's standard logger is global.
func TestCaptureLogrus(t *testing.T) {
	var stderr bytes.Buffer
	std := logrus.StandardLogger()
	std.SetOutput(&stderr)
	t.Cleanup(func() { std.SetOutput(io.Discard) })

	var buf bytes.Buffer
	r := New(&buf, envOf(map[string]string{"GITHUB_ACTIONS": "true"}))
	restore := r.CaptureLogrus()
	logrus.Warn("`version` is obsolete\n::error::x")
	logrus.Warn("`version` is obsolete\n::error::x") // the next load of the same files: said once
	logrus.WithField("file", "a\x1bb").WithError(errors.New("boom")).Error("failed")
	logrus.Info("loaded")
	logrus.Debug("not shown")
	restore()
	restore() // twice is harmless
	logrus.Warn("after restore")

	require.Equal(t, "::warning::`version` is obsolete%0A\\::error::x\n"+
		"::warning::failed error=\"boom\" file=\"a\\x1bb\"\n"+
		"loaded\n", buf.String())
	require.Contains(t, stderr.String(), "after restore")
	require.NotContains(t, stderr.String(), "obsolete")
}

// TestCaptureLogrusOverlapping: deploys running at once in one process
// (the e2e tests) end their captures in any order; logrus is back as it
// was after the last, and no hook keeps a finished Reporter.
func TestCaptureLogrusOverlapping(t *testing.T) {
	var stderr bytes.Buffer
	std := logrus.StandardLogger()
	std.SetOutput(&stderr)
	t.Cleanup(func() { std.SetOutput(io.Discard) })

	var a, b bytes.Buffer
	endA := New(&a, envOf(nil)).CaptureLogrus()
	endB := New(&b, envOf(nil)).CaptureLogrus()
	logrus.Warn("to b")
	endB()
	logrus.Warn("to a")
	endA()
	logrus.Warn("to stderr")

	require.Equal(t, "warning: to b\n", b.String())
	require.Equal(t, "warning: to a\n", a.String())
	require.Contains(t, stderr.String(), "to stderr")
	require.Empty(t, std.Hooks)
}

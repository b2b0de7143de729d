package report

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMaskRedactsEverywhere(t *testing.T) {
	t.Parallel()
	for _, actions := range []bool{true, false} {
		dir := t.TempDir()
		out, sum := touch(t, filepath.Join(dir, "out")), touch(t, filepath.Join(dir, "sum"))
		env := map[string]string{"GITHUB_OUTPUT": out, "GITHUB_STEP_SUMMARY": sum}
		if actions {
			env["GITHUB_ACTIONS"] = "true"
		}
		var buf bytes.Buffer
		r := New(&buf, envOf(env))
		r.Mask("hunter2")
		r.Mask("hunter2") // once is enough
		r.Mask("")
		r.Mask("  \n")
		r.Phase("phase hunter2")()
		r.Infof("password %s", "hunter2")
		r.Warnf("warn hunter2")
		r.Block("log hunter2", "line hunter2\nhun")
		r.Errorf("title hunter2", "err hunter2")
		require.NoError(t, r.Output("o", "x-hunter2-y"))
		require.NoError(t, r.Summary("sum hunter2"))

		log := buf.String()
		if actions {
			require.Equal(t, 1, strings.Count(log, "::add-mask::hunter2\n"))
			log = strings.Replace(log, "::add-mask::hunter2\n", "", 1)
			require.NotContains(t, log, "::add-mask::", "blank secrets are not masked")
		}
		require.NotContains(t, log, "hunter2")
		require.Equal(t, 7, strings.Count(log, "***"), log)
		for _, f := range []string{out, sum} {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NotContains(t, string(data), "hunter2")
			require.Contains(t, string(data), "***")
		}
	}
}

func TestMaskLongestFirstAndLines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, envOf(nil))
	r.Mask("abc")
	r.Mask("abcdef")
	r.Mask("first line\nsecond line")
	r.Infof("abcdef abc")
	r.Infof("[first line] [second line]")
	require.Equal(t, "*** ***\n[***] [***]\n", buf.String())
}

func TestMaskBasicAuth(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := New(&buf, envOf(map[string]string{"GITHUB_ACTIONS": "true"}))
	r.MaskBasicAuth("ci", "pa?s>s~")
	r.MaskBasicAuth("nobody", "")
	cred := []byte("ci:pa?s>s~")
	masks := buf.String()
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		require.Contains(t, masks, "::add-mask::"+enc.EncodeToString(cred)+"\n")
	}
	require.Contains(t, masks, "::add-mask::pa?s>s~\n")
	buf.Reset()

	r.Infof("GET /v2/: Authorization: Basic %s", base64.StdEncoding.EncodeToString(cred))
	r.Infof("token %s", base64.RawURLEncoding.EncodeToString(cred))
	r.Infof("password pa?s>s~")
	require.Equal(t, "GET /v2/: Authorization: Basic ***\ntoken ***\npassword ***\n", buf.String())
}

package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

// TestCheckPhaseTimes: a phase that took no whole millisecond passes the
// runner's check; a negative time is forged.
func TestCheckPhaseTimes(t *testing.T) {
	t.Parallel()
	res := func(ms int64) *HostResult {
		return &HostResult{Mode: config.ModeStatus, Active: "blue", Phases: []PhaseTime{{Kind: deploy.PhaseHealth, Name: "Health check", MS: ms}}}
	}
	require.NoError(t, res(0).Check(config.ModeStatus, &config.Config{}))
	require.Error(t, res(-1).Check(config.ModeStatus, &config.Config{}))
}

// TestCollectFilesComposeAtSizeLimit: a compose file of exactly
// compose.MaxFileSize bytes is read, and what it mounts travels.
func TestCollectFilesComposeAtSizeLimit(t *testing.T) {
	t.Parallel()
	head := "services:\n  web:\n    image: app\n    volumes:\n      - ./conf.yml:/etc/conf.yml:ro\n#"
	dir := writeTree(t, map[string]string{
		"docker-compose.yml": head + strings.Repeat("x", compose.MaxFileSize-len(head)-1) + "\n",
		"conf.yml":           "a: 1\n",
	})
	b, err := CollectFiles(singleFile(dir), nil)
	require.NoError(t, err)
	var paths []string
	for _, f := range b.Files {
		paths = append(paths, f.Path)
	}
	require.Contains(t, paths, "conf.yml")
	st, err := os.Stat(filepath.Join(dir, "docker-compose.yml"))
	require.NoError(t, err)
	require.EqualValues(t, compose.MaxFileSize, st.Size())
}

// TestCollectFilesSaysEveryProblemOnce: every reference that is refused
// is named in the error, each once, however many times it is named.
func TestCollectFilesSaysEveryProblemOnce(t *testing.T) {
	t.Parallel()
	root := writeTree(t, map[string]string{
		"app/docker-compose.yml": "services:\n  web:\n    image: app\n    env_file: [../shared/a.env, ../shared/b.env]\n  worker:\n    image: app\n    env_file: [../shared/a.env]\n",
		"shared/a.env":           "A=1\n",
		"shared/b.env":           "B=1\n",
	})
	cfg := singleFile(filepath.Join(root, "app"))
	_, err := CollectFiles(cfg, nil)
	require.ErrorIs(t, err, config.ErrInvalid)
	for _, p := range []string{"../shared/a.env", "../shared/b.env"} {
		require.Equal(t, 1, strings.Count(err.Error(), "names env_file "+p+", outside working-directory"), err.Error())
	}
}

package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/hosthelper"
)

// TestCollectFilesSizeLimit: the files a fleet deploy ships may add up to
// hosthelper.MaxFiles bytes exactly, every byte shipped; one byte more is
// refused with what to do instead.
func TestCollectFilesSizeLimit(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"docker-compose.yml": "services:\n  web:\n    image: app\n    volumes:\n      - ./big.bin:/big.bin:ro\n",
		"big.bin":            "",
	})
	b, err := CollectFiles(singleFile(dir), nil)
	require.NoError(t, err)
	room := hosthelper.MaxFiles - b.Size

	big := filepath.Join(dir, "big.bin")
	require.NoError(t, os.WriteFile(big, make([]byte, room), 0o644))
	b, err = CollectFiles(singleFile(dir), nil)
	require.NoError(t, err, "exactly the limit")
	require.Equal(t, hosthelper.MaxFiles, b.Size)
	for _, f := range b.Files {
		if f.Path == "big.bin" {
			require.Len(t, f.Data, room, "shipped whole")
		}
	}

	require.NoError(t, os.WriteFile(big, make([]byte, room+1), 0o644))
	_, err = CollectFiles(singleFile(dir), nil)
	require.ErrorContains(t, err, fmt.Sprintf("more than %d MiB of files to ship", hosthelper.MaxFiles>>20))
}

// TestCollectFilesCountLimit: a fleet deploy ships up to MaxBundleFiles
// files; one more is refused.
func TestCollectFilesCountLimit(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{
		"docker-compose.yml": "services:\n  web:\n    image: app\n    volumes:\n      - ./conf:/etc/app:ro\n",
	})
	conf := filepath.Join(dir, "conf")
	require.NoError(t, os.MkdirAll(conf, 0o755))
	// The compose file and MaxBundleFiles-1 mounted files.
	for i := 0; i < MaxBundleFiles-1; i++ {
		require.NoError(t, os.WriteFile(filepath.Join(conf, fmt.Sprintf("f%04d", i)), nil, 0o644))
	}
	b, err := CollectFiles(singleFile(dir), nil)
	require.NoError(t, err, "exactly the limit")
	require.Len(t, b.Files, MaxBundleFiles)

	require.NoError(t, os.WriteFile(filepath.Join(conf, "one-more"), nil, 0o644))
	_, err = CollectFiles(singleFile(dir), nil)
	require.ErrorContains(t, err, fmt.Sprintf("more than %d files to ship", MaxBundleFiles))
}

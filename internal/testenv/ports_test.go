package testenv

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/bluegreen-action/bluegreen/internal/sandbox"
)

// TestPortBlocksAreDisjoint: the port blocks of the test packages and of
// the demo never share a port and stay below the ephemeral range, and each
// names a package directory that exists.
func TestPortBlocksAreDisjoint(t *testing.T) {
	t.Parallel()
	root := RepoRoot(t)
	names := []string{"sandbox.DefaultPorts"}
	blocks := map[string]sandbox.PortRange{"sandbox.DefaultPorts": sandbox.DefaultPorts}
	for pkg, r := range PortBlocks {
		if fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(pkg))); err != nil || !fi.IsDir() {
			t.Errorf("PortBlocks[%q]: no such package directory", pkg)
		}
		names = append(names, pkg)
		blocks[pkg] = r
	}
	sort.Strings(names)
	for i, a := range names {
		ra := blocks[a]
		if ra.First < 1024 || ra.Last < ra.First || ra.Last >= sandbox.EphemeralStart {
			t.Errorf("%s = %s: want a block within 1024-%d", a, ra, sandbox.EphemeralStart-1)
		}
		for _, b := range names[i+1:] {
			if ra.Overlaps(blocks[b]) {
				t.Errorf("%s (%s) and %s (%s) overlap", a, ra, b, blocks[b])
			}
		}
	}
}

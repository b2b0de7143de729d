package testenv

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// TestPortBlocksAreDisjoint: the port blocks of the test packages and of
// the demo never share a port and stay below the ephemeral range, and each
// names a package directory that exists.
func TestPortBlocksAreDisjoint(t *testing.T) {
	t.Parallel()
	root := RepoRoot(t)
	names := []string{"throwaway.DefaultPorts"}
	blocks := map[string]throwaway.PortRange{"throwaway.DefaultPorts": throwaway.DefaultPorts}
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
		if ra.First < 1024 || ra.Last < ra.First || ra.Last >= throwaway.EphemeralStart {
			t.Errorf("%s = %s: want a block within 1024-%d", a, ra, throwaway.EphemeralStart-1)
		}
		for _, b := range names[i+1:] {
			if ra.Overlaps(blocks[b]) {
				t.Errorf("%s (%s) and %s (%s) overlap", a, ra, b, blocks[b])
			}
		}
	}
}

//go:build e2e

package compose

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// TestRemoveKeepsNetworksForTheNextUp: Remove takes the containers and
// leaves the project's network, which the next Up uses as it is; a
// network the compose file has changed since is recreated.
func TestRemoveKeepsNetworksForTheNextUp(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, docker := newEngine(t, project)
	networks := func() []network.Summary {
		t.Helper()
		list, err := docker.NetworkList(ctxTimeout(t, time.Minute), network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+project))})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	plain := "services:\n  web:\n    image: " + img + "\n    environment: {MODE: worker}\n"
	dir := writeProject(t, map[string]string{"compose.yml": plain})
	upProject(t, e, project, dir, nil)
	first := networks()
	if len(first) != 1 {
		t.Fatalf("want the default network, got %v", first)
	}
	if err := e.Remove(ctxTimeout(t, time.Minute), project, nil); err != nil {
		t.Fatal(err)
	}
	if cs, _ := e.List(ctxTimeout(t, time.Minute), project); len(cs) != 0 {
		t.Fatalf("containers left after Remove: %v", cs)
	}
	if kept := networks(); len(kept) != 1 || kept[0].ID != first[0].ID {
		t.Fatalf("Remove took the network: %v", kept)
	}
	upProject(t, e, project, dir, nil)
	if again := networks(); len(again) != 1 || again[0].ID != first[0].ID {
		t.Fatalf("Up did not use the kept network: %v", again)
	}

	// The compose file now makes the network internal: Up recreates it.
	if err := e.Remove(ctxTimeout(t, time.Minute), project, nil); err != nil {
		t.Fatal(err)
	}
	dir = writeProject(t, map[string]string{"compose.yml": plain + "networks:\n  default:\n    internal: true\n"})
	upProject(t, e, project, dir, nil)
	changed := networks()
	if len(changed) != 1 || changed[0].ID == first[0].ID || !changed[0].Internal {
		t.Fatalf("a changed network was not recreated: %+v", changed)
	}
	if err := e.Down(ctxTimeout(t, time.Minute), project, nil); err != nil {
		t.Fatal(err)
	}
	if left := networks(); len(left) != 0 {
		t.Fatalf("Down left networks: %v", left)
	}
}

package compose

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// TestRefusedProjects holds what Check says about every project under
// testdata/compose that has a refused.golden: the message names each
// service, key and what to do, and it is exactly the golden (-update
// rewrites the goldens).
func TestRefusedProjects(t *testing.T) {
	t.Parallel()
	root := filepath.Join(testenv.RepoRoot(t), "testdata", "compose")
	dirs := conformanceDirs(t, root, kindRefused)
	if len(dirs) < 2 {
		t.Fatalf("%d projects have a refused.golden, want at least two", len(dirs))
	}
	for _, name := range dirs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(root, name)
			p, err := Load(context.Background(), LoadOptions{ProjectName: "refused", Files: []string{filepath.Join(dir, "compose.yml")}, Environment: map[string]string{"APP_IMAGE": "example/app:1"}})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = Check(p)
			if err == nil {
				t.Fatal("Check accepted the project")
			}
			golden := filepath.Join(dir, "refused.golden")
			if *updateDoc {
				if err := os.WriteFile(golden, []byte(err.Error()+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if err.Error()+"\n" != string(want) {
				t.Errorf("Check says\n%s\nwant (refused.golden; go test ./internal/compose -run TestRefusedProjects -update rewrites it)\n%s", err, want)
			}
		})
	}
}

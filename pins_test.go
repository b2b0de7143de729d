package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// productAction is this action. The example workflows use it by its
// major version tag (@v1), as the README's usage does: they show users the
// product's release channel, and a commit of this repository cannot name
// the commit a later release of it will be made from. Whether a user pins
// it further is the user's choice, not an example's.
const productAction = "bluegreen-action/bluegreen"

var (
	fullSHA       = regexp.MustCompile(`^[0-9a-f]{40}$`)
	versionTag    = regexp.MustCompile(`^v[0-9]+(\.[0-9]+)*$`)
	versionNote   = regexp.MustCompile(`^#\s*v[0-9]+(\.[0-9]+)*\s*$`)
	dockerDigest  = regexp.MustCompile(`^docker://[^@\s]+@sha256:[0-9a-f]{64}$`)
	actionPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[^@\s]+$`)
)

// pinProblem says what is wrong with one uses: value and its line
// comment, or "" when it is pinned. A third-party action must name a full
// commit SHA, with the version it is in a trailing comment
// (actions/checkout@<sha> # v4.2.2): a tag can be moved to other code by
// whoever controls the action's repository, a commit cannot.
func pinProblem(uses, comment string) string {
	switch {
	case strings.HasPrefix(uses, "./"):
		return "" // in this repository
	case strings.HasPrefix(uses, "docker://"):
		if dockerDigest.MatchString(uses) {
			return ""
		}
		return "a docker:// image must be pinned by its digest (docker://image@sha256:<64 hex>)"
	case !actionPattern.MatchString(uses):
		return "is not of the form owner/repo[/path]@ref"
	}
	name, ref, _ := strings.Cut(uses, "@")
	if name == productAction {
		if versionTag.MatchString(ref) || fullSHA.MatchString(ref) {
			return ""
		}
		return "this action is used by a version tag (v1) or a full commit SHA"
	}
	if !fullSHA.MatchString(ref) {
		return fmt.Sprintf("is not pinned by a full commit SHA: use %s@<40-hex commit sha> # <version>", name)
	}
	if !versionNote.MatchString(strings.TrimSpace(comment)) {
		return "names no version in a trailing comment (# v1.2.3), so a reader cannot tell what the SHA is"
	}
	return ""
}

func TestPinProblem(t *testing.T) {
	t.Parallel()
	const sha = "11d5960a326750d5838078e36cf38b85af677262"
	tests := []struct {
		uses, comment string
		ok            bool
	}{
		{"actions/checkout@" + sha, "# v4.4.0", true},
		{"gradle/actions/setup-gradle@" + sha, "# v4.4.3", true},
		{"actions/checkout@v4", "", false},
		{"actions/checkout@v4.4.0", "# v4.4.0", false},
		{"actions/checkout@" + sha[:12], "# v4.4.0", false},
		{"actions/checkout@" + strings.ToUpper(sha), "# v4.4.0", false},
		{"actions/checkout@" + sha, "", false},
		{"actions/checkout@" + sha, "# latest", false},
		{"actions/checkout", "", false},
		{"./.github/workflows/ci.yml", "", true},
		{"./.github/actions/local", "", true},
		{"docker://alpine@sha256:" + strings.Repeat("a", 64), "", true},
		{"docker://alpine:3.20", "", false},
		{productAction + "@v1", "", true},
		{productAction + "@" + sha, "", true},
		{productAction + "@main", "", false},
	}
	for _, tt := range tests {
		got := pinProblem(tt.uses, tt.comment)
		if (got == "") != tt.ok {
			t.Errorf("pinProblem(%q, %q) = %q, want ok=%v", tt.uses, tt.comment, got, tt.ok)
		}
	}
}

// TestThirdPartyActionsArePinned checks every uses: in the repository's
// workflows and in the examples users copy.
func TestThirdPartyActionsArePinned(t *testing.T) {
	t.Parallel()
	var files []string
	for _, dir := range []string{filepath.Join(".github", "workflows"), "examples"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		eachUses(&doc, func(value *yaml.Node) {
			seen++
			if p := pinProblem(value.Value, value.LineComment); p != "" {
				t.Errorf("%s:%d: uses: %s: %s", path, value.Line, value.Value, p)
			}
		})
	}
	if seen < 10 {
		t.Fatalf("found %d uses: in %v; the walk is broken", seen, files)
	}
}

// eachUses calls fn with the value of every uses: key in the document.
func eachUses(n *yaml.Node, fn func(*yaml.Node)) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], n.Content[i+1]; k.Value == "uses" && v.Kind == yaml.ScalarNode {
				fn(v)
			}
		}
	}
	for _, c := range n.Content {
		eachUses(c, fn)
	}
}

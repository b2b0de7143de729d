package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The README is the action's front door; these tests keep it true to the
// code: its tables are generated from action.yml, its YAML excerpts are
// cut from examples/ (which actionlint and act check, e2e/examples_test.go),
// and its links and those of docs/ lead somewhere.

var updateReadme = flag.Bool("update", false, "rewrite the README's input and output tables from action.yml")

// actionField is one input or output of action.yml, in file order.
type actionField struct {
	Name, Description, Default string
	HasDefault                 bool
}

// actionFields reads action.yml's inputs and outputs in the order the file
// lists them (a map would lose it).
func actionFields(t *testing.T) (inputs, outputs []actionField) {
	t.Helper()
	data, err := os.ReadFile("action.yml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	section := func(name string) []actionField {
		top := doc.Content[0]
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value != name {
				continue
			}
			var out []actionField
			m := top.Content[i+1]
			for j := 0; j+1 < len(m.Content); j += 2 {
				f := actionField{Name: m.Content[j].Value}
				props := m.Content[j+1]
				for k := 0; k+1 < len(props.Content); k += 2 {
					switch props.Content[k].Value {
					case "description":
						f.Description = props.Content[k+1].Value
					case "default":
						f.Default, f.HasDefault = props.Content[k+1].Value, true
					}
				}
				out = append(out, f)
			}
			return out
		}
		t.Fatalf("action.yml has no %s", name)
		return nil
	}
	return section("inputs"), section("outputs")
}

// cell makes text one Markdown table cell: one line, pipes escaped, and
// angle brackets outside code spans written as entities, so that
// "<project-name>-blue" is not taken for an HTML tag.
func cell(s string) string {
	s = strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
	var b strings.Builder
	inCode := false
	for _, r := range s {
		switch {
		case r == '`':
			inCode = !inCode
			b.WriteRune(r)
		case !inCode && r == '<':
			b.WriteString("&lt;")
		case !inCode && r == '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// code puts s in a code span that holds it whatever backticks it has.
func code(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// inputTable and outputTable are the README's tables: every field of
// action.yml, with its default and its description as written there.
func inputTable(fields []actionField) string {
	var b strings.Builder
	b.WriteString("| input | default | description |\n|---|---|---|\n")
	for _, f := range fields {
		def := ""
		if f.Default != "" {
			def = code(f.Default)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", code(f.Name), cell(def), cell(f.Description))
	}
	return b.String()
}

func outputTable(fields []actionField) string {
	var b strings.Builder
	b.WriteString("| output | description |\n|---|---|\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "| %s | %s |\n", code(f.Name), cell(f.Description))
	}
	return b.String()
}

// generated finds the text between a begin marker line starting with
// begin and the line end.
var generatedRE = regexp.MustCompile(`(?s)(<!-- (inputs|outputs): generated from action\.yml[^\n]*-->\n)(.*?)(<!-- end (?:inputs|outputs) -->)`)

// TestReadmeTables holds the README's input and output tables to
// action.yml field by field: every name, default and description, in
// action.yml's order. go test . -run TestReadmeTables -update rewrites
// them.
func TestReadmeTables(t *testing.T) {
	inputs, outputs := actionFields(t)
	for _, f := range inputs {
		require.True(t, f.HasDefault, "input %s declares no default", f.Name)
		require.NotEmpty(t, strings.TrimSpace(f.Description), "input %s has no description", f.Name)
	}
	want := map[string]string{"inputs": inputTable(inputs), "outputs": outputTable(outputs)}
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(data)
	found := map[string]bool{}
	updated := generatedRE.ReplaceAllStringFunc(readme, func(m string) string {
		sub := generatedRE.FindStringSubmatch(m)
		found[sub[2]] = true
		return sub[1] + want[sub[2]] + sub[4]
	})
	require.True(t, found["inputs"] && found["outputs"], "README.md has both generated tables between their markers")
	if *updateReadme {
		require.NoError(t, os.WriteFile("README.md", []byte(updated), 0o644))
		return
	}
	for _, m := range generatedRE.FindAllStringSubmatch(readme, -1) {
		require.Equal(t, want[m[2]], m[3], "README's %s table differs from action.yml; run go test . -run TestReadmeTables -update", m[2])
	}
}

// excerptRE finds a fenced YAML block whose first line names the example
// file it is cut from.
var excerptRE = regexp.MustCompile("(?s)```yaml\n# (examples/[^\n]+\\.yml)\n(.*?)```")

// TestReadmeExcerpts: every YAML block of the README that starts with
// `# examples/<file>` is a contiguous excerpt of that file, so what users
// paste is what the tests lint and run.
func TestReadmeExcerpts(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := excerptRE.FindAllStringSubmatch(string(data), -1)
	require.NotEmpty(t, blocks)
	files := map[string]bool{}
	for _, b := range blocks {
		src, err := os.ReadFile(b[1])
		require.NoError(t, err)
		require.Contains(t, string(src), b[2], "README's excerpt of %s is not in it", b[1])
		files[b[1]] = true
	}
	require.True(t, files["examples/deploy.yml"] && files["examples/rollback.yml"], "the README quotes both example workflows: %v", files)
}

// mdLinkRE finds inline Markdown links and images: [text](target).
var mdLinkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsLinks: every relative link in the README, the changelog and
// docs/ names a file or directory of the repository, and every #anchor a
// heading of its page, as GitHub makes them.
func TestDocsLinks(t *testing.T) {
	t.Parallel()
	pages := []string{"README.md", "CHANGELOG.md", "examples/README.md", "examples/nginx-container/README.md"}
	docs, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	require.NotEmpty(t, docs)
	pages = append(pages, docs...)
	anchors := map[string]map[string]bool{}
	anchorsOf := func(page string) map[string]bool {
		if a, ok := anchors[page]; ok {
			return a
		}
		data, err := os.ReadFile(page)
		require.NoError(t, err)
		anchors[page] = headingAnchors(string(data))
		return anchors[page]
	}
	for _, page := range pages {
		data, err := os.ReadFile(page)
		require.NoError(t, err, page)
		for _, m := range mdLinkRE.FindAllStringSubmatch(stripCode(string(data)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := page
			if path != "" {
				file = filepath.Join(filepath.Dir(page), path)
				_, err := os.Stat(file)
				require.NoError(t, err, "%s links to %s, which does not exist", page, target)
			}
			if anchor != "" && strings.HasSuffix(file, ".md") {
				require.True(t, anchorsOf(file)[anchor], "%s links to %s: %s has no heading #%s", page, target, file, anchor)
			}
		}
	}
}

// stripCode removes fenced code blocks and code spans, where brackets and
// parentheses are not links.
func stripCode(s string) string {
	s = regexp.MustCompile("(?s)```.*?```").ReplaceAllString(s, "")
	return regexp.MustCompile("`[^`\n]*`").ReplaceAllString(s, "")
}

// headingAnchors returns the anchors GitHub gives a page's headings: lower
// case, punctuation dropped, spaces as hyphens, repeats numbered.
func headingAnchors(page string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range strings.Split(stripFences(page), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		text = strings.ReplaceAll(text, "`", "")
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

func stripFences(s string) string {
	return regexp.MustCompile("(?s)```.*?```").ReplaceAllString(s, "")
}

func TestCell(t *testing.T) {
	t.Parallel()
	require.Equal(t, "runs as &lt;project-name&gt;-blue; empty writes `set $u http://<host>:<port>;`, a \\| b",
		cell("runs as <project-name>-blue;\n  empty writes `set $u http://<host>:<port>;`, a | b"))
}

func TestHeadingAnchors(t *testing.T) {
	t.Parallel()
	got := headingAnchors("# bluegreen\n## Migrating from deploy.sh\n```sh\n# not a heading\n```\n### The hoist: leaving the action container\n## Rollback\n## Rollback\n## `mode: stage`\n")
	for _, a := range []string{"bluegreen", "migrating-from-deploysh", "the-hoist-leaving-the-action-container", "rollback", "rollback-1", "mode-stage"} {
		require.True(t, got[a], "%s in %v", a, got)
	}
	require.False(t, got["not-a-heading"])
}

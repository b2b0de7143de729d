package nginx

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// markerLineRE matches whole marker lines, to make an include look as if
// the seed's deploy.sh had written it.
var markerLineRE = regexp.MustCompile(`(?m)^#[ \t]*bluegreen:.*\n`)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenData is the deploy the golden includes are rendered for.
func goldenData() (blue, green TemplateData) {
	blue = TemplateData{
		Color: "blue", Host: "127.0.0.1", Port: 8081, DeployID: "run-42",
		Project: "app", Service: "web", ContainerName: "app-blue-web-1",
		ContainerIP: "172.18.0.2", ContainerPort: 8080,
	}
	green = blue
	green.Color, green.Port, green.ContainerName, green.ContainerIP = "green", 8082, "app-green-web-1", "172.18.0.3"
	return blue, green
}

func readTestdata(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", path))
	require.NoError(t, err)
	return string(b)
}

// TestTemplateGolden renders each kind of template for both colors and
// compares with testdata/golden; then reads each rendering back with
// ParseLive, with its marker and without (as if the seed's deploy.sh had
// written it), and renders it again to prove rendering is deterministic.
func TestTemplateGolden(t *testing.T) {
	t.Parallel()
	kinds := []struct {
		name string
		text string
	}{
		{"default", DefaultTemplate},
		{"upstream", UpstreamTemplate("app_backend")},
		{"custom", readTestdata(t, "golden/custom.tmpl")},
	}
	blue, green := goldenData()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := ParseTemplate(k.text)
			require.NoError(t, err)
			for _, d := range []TemplateData{blue, green} {
				want := color.Blue
				if d.Color == "green" {
					want = color.Green
				}
				got, err := tmpl.Render(d)
				require.NoError(t, err)

				golden := filepath.Join("testdata", "golden", k.name+"."+d.Color+".inc")
				if *update {
					require.NoError(t, os.WriteFile(golden, got, 0o644))
				}
				wantBytes, err := os.ReadFile(golden)
				require.NoError(t, err, "run go test -update to create the golden files")
				assert.Equal(t, string(wantBytes), string(got), "rendering differs from %s", golden)

				again, err := tmpl.Render(d)
				require.NoError(t, err)
				assert.Equal(t, got, again, "rendering is not deterministic")

				c, how, err := ParseLive(got, blue, green, tmpl)
				require.NoError(t, err)
				assert.Equal(t, want, c)
				assert.Equal(t, "marker", how)

				m, found, err := ReadMarker(got)
				require.NoError(t, err)
				require.True(t, found)
				assert.Equal(t, Marker{Color: want, DeployID: "run-42"}, m)

				unmarked := markerLocationRE.ReplaceAll(markerLineRE.ReplaceAll(got, nil), nil)
				require.NotContains(t, string(unmarked), "bluegreen")
				c, how, err = ParseLive(unmarked, blue, green, tmpl)
				require.NoError(t, err)
				assert.Equal(t, want, c)
				assert.Equal(t, "matches "+d.Color+"'s rendering", how)
			}
		})
	}
}

func TestRenderAddsMarkerOnlyWhenMissing(t *testing.T) {
	t.Parallel()
	blue, _ := goldenData()
	own := "# bluegreen: color={{.Color}} deploy={{.DeployID}} mine\nset $service_url {{.URL}};\n"
	tmpl, err := ParseTemplate(own)
	require.NoError(t, err)
	got, err := tmpl.Render(blue)
	require.NoError(t, err)
	assert.Equal(t, "# bluegreen: color=blue deploy=run-42 mine\nset $service_url http://127.0.0.1:8081;\n", string(got))

	tmpl, err = ParseTemplate("set $service_url {{.URL}};") // no trailing newline
	require.NoError(t, err)
	got, err = tmpl.Render(blue)
	require.NoError(t, err)
	assert.Equal(t, "# bluegreen: color=blue deploy=run-42 (managed by bluegreen; edits are overwritten)\n"+
		"set $service_url http://127.0.0.1:8081;\n", string(got))
}

func TestRenderFillsURL(t *testing.T) {
	t.Parallel()
	tmpl := MustParseTemplate(DefaultTemplate)
	got, err := tmpl.Render(TemplateData{Color: "green", Host: "::1", Port: 8082, DeployID: "x"})
	require.NoError(t, err)
	assert.Contains(t, string(got), "set $service_url http://[::1]:8082;\n")
}

func TestParseTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "  \n", []string{"it is empty", "set $service_url {{.URL}};"}},
		{"syntax", "set $service_url {{.URL;\n", []string{"invalid include template: line 1: bad character"}},
		{"unknown field", "set $service_url http://{{.Host}}:{{.Prot}};\n",
			[]string{"unknown field .Prot", "valid fields are .Color, .Host, .Port, .URL"}},
		{"same for both colors", "set $service_url http://127.0.0.1:8080;\n",
			[]string{"renders the same for blue and green", "{{.URL}}"}},
		{"same apart from comments", "# {{.Color}}\nset $service_url http://127.0.0.1:8080;\n",
			[]string{"renders the same for blue and green"}},
		{"marker with a fixed color", "# bluegreen: color=blue\nset $service_url {{.URL}};\n",
			[]string{"renders a marker for blue while rendering green"}},
		{"bad function", "set $service_url {{nope .URL}};\n", []string{`function "nope" not defined`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseTemplate(tt.text)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrInvalidTemplate), "error %v is not ErrInvalidTemplate", err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseTemplateAcceptsColorOnlyHostnames(t *testing.T) {
	t.Parallel()
	_, err := ParseTemplate("set $service_url http://app-{{.Color}}:8080;\n")
	assert.NoError(t, err)
}

func TestRenderRejectsBadData(t *testing.T) {
	t.Parallel()
	blue, _ := goldenData()
	tests := []struct {
		name   string
		mutate func(*TemplateData)
		want   string
	}{
		{"unknown color", func(d *TemplateData) { d.Color = "red" }, `Color "red" is not one of blue, green`},
		{"capitalised color", func(d *TemplateData) { d.Color = "Blue" }, `Color "Blue"`},
		{"newline in host", func(d *TemplateData) { d.Host = "127.0.0.1;\nreturn 500" }, "Host"},
		{"space in deploy id", func(d *TemplateData) { d.DeployID = "run 42" }, "DeployID \"run 42\" contains white space"},
		{"directive in marker allow", func(d *TemplateData) { d.MarkerAllow = []string{"all; return 200 x"} }, `MarkerAllow "all; return 200 x" is not an IP address or CIDR prefix`},
		{"zone in marker allow", func(d *TemplateData) { d.MarkerAllow = []string{"fe80::1%eth0"} }, `MarkerAllow "fe80::1%eth0"`},
	}
	tmpl := MustParseTemplate(DefaultTemplate)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := blue
			tt.mutate(&d)
			_, err := tmpl.Render(d)
			require.ErrorIs(t, err, ErrInvalidTemplateData)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"set $service_url http://127.0.0.1:8081;\n", "set $service_url http://127.0.0.1:8081;"},
		{"  set   $service_url\thttp://127.0.0.1:8081 ;  # old\n\n", "set $service_url http://127.0.0.1:8081;"},
		{"# only a comment\n", ""},
		{"upstream a {\n    server 1.2.3.4:80; # x\n    keepalive 16;\n}\n", "upstream a{server 1.2.3.4:80;keepalive 16;}"},
		{"return 200 \"a # b\";", "return 200 \"a # b\";"},
		{"proxy_pass http://h/#frag;", "proxy_pass http://h/#frag;"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, normalize([]byte(tt.in)), "normalize(%q)", tt.in)
	}
}

func TestReadMarkerErrors(t *testing.T) {
	t.Parallel()
	_, _, err := ReadMarker([]byte("# bluegreen: color=red deploy=1\n"))
	assert.ErrorContains(t, err, `unknown color "red"`)
	_, _, err = ReadMarker([]byte("# bluegreen: color=blue\n# bluegreen: color=green\n"))
	assert.ErrorIs(t, err, ErrLiveMismatch)
	m, found, err := ReadMarker([]byte("  #bluegreen: color=green\n"))
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, color.Green, m.Color)
	_, found, err = ReadMarker(bytes.Repeat([]byte("set $a b;\n"), 3))
	require.NoError(t, err)
	assert.False(t, found)
}

// TestTemplateErrorsSayItOnce: a template error names the problem once,
// in the template's terms, without Go's internals.
func TestTemplateErrorsSayItOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       string
	}{
		{"syntax", "set $service_url {{.URL;\n", "invalid include template: line 1: "},
		{"unknown field", "set $service_url {{.URL}};\n# {{.Prot}}\n", "invalid include template: line 2: unknown field .Prot; valid fields are .Color"},
		{"range over a number", "{{range 100000000000}}x{{end}}set $service_url {{.URL}};\n", "invalid include template: line 1: {{range}} may only go over a field"},
		{"output without bound", "{{define \"x\"}}{{.URL}}{{.URL}}{{template \"x\"}}{{end}}{{template \"x\"}}\n", "invalid include template: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseTemplate(tt.text)
			require.Error(t, err)
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, tt.want), msg)
			assert.Equal(t, 1, strings.Count(msg, "invalid include template"), msg)
			for _, internal := range []string{"executing", "map has no entry", "template: include"} {
				assert.NotContains(t, msg, internal)
			}
		})
	}
}

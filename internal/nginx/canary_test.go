package nginx

import (
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create the golden files")
	assert.Equal(t, string(want), string(got))
}

// TestCanaryGolden renders a canary step of the seed's include and of an
// upstream include with two green replicas; the real-nginx tests prove
// what these files do, the goldens that they do not drift.
func TestCanaryGolden(t *testing.T) {
	t.Parallel()
	blue, green := goldenData()
	green.DeployID = "run-43"
	for _, tt := range []struct {
		name string
		tmpl string
		edit func(*TemplateData)
	}{
		{"default", DefaultTemplate, func(*TemplateData) {}},
		{"upstream", UpstreamTemplate("app_backend"), func(d *TemplateData) {
			d.Servers = []Server{{Host: "127.0.0.1", Port: 8082}, {Host: "127.0.0.1", Port: 8083}}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := green
			tt.edit(&g)
			b, err := MustParseTemplate(tt.tmpl).RenderCanary(Canary{Old: blue, New: g, Percent: 10,
				Evidence: &EvidenceLog{Path: "/var/log/nginx/bluegreen-app.evidence"},
				Keep:     []string{`add_header Strict-Transport-Security "max-age=63072000" always;`, "access_log /var/log/nginx/access.log;"}})
			require.NoError(t, err)
			golden(t, "canary-"+tt.name+".inc", b)

			c, how, err := ParseLive(b, blue, g, nil)
			if tt.name == "default" {
				require.NoError(t, err)
				assert.Equal(t, color.Blue, c, "the old color holds the traffic: %s", how)
			}
			m, found, err := ReadMarker(b)
			require.NoError(t, err)
			require.True(t, found)
			assert.Equal(t, Marker{Color: color.Blue, DeployID: "run-42", Canary: color.Green, Percent: 10, Next: "run-43"}, m)
		})
	}
}

// TestCanaryCannotRender: what nginx cannot choose per request is refused,
// naming the directive.
func TestCanaryCannotRender(t *testing.T) {
	t.Parallel()
	blue, green := goldenData()
	for _, tt := range []struct {
		name, tmpl, want string
	}{
		{"proxy_pass in a location", "location / { proxy_pass {{.URL}}; }\n", "is not a `set`"},
		{"add_header with the name", "set $service_url {{.URL}};\nadd_header X-Served-By {{.ContainerName}};\n", `"add_header X-Served-By app-green-web-1;" (line 2) differs`},
		{"upstream with least_conn", "upstream app { least_conn; server {{.Host}}:{{.Port}}; }\n", "chooses its servers with least_conn"},
		{"backup server", "upstream app { server {{.Host}}:{{.Port}}; server 127.0.0.1:9 backup; }\n", "backup server"},
		{"http directive outside upstream", "upstream app { server {{.Host}}:{{.Port}}; }\nmap $x $y { default {{.Color}}; }\n", "outside an upstream block"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := ParseTemplate(tt.tmpl)
			require.NoError(t, err)
			_, err = tmpl.RenderCanary(Canary{Old: blue, New: green, Percent: 10})
			require.ErrorIs(t, err, ErrCannotRender)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	_, err := MustParseTemplate(DefaultTemplate).RenderCanary(Canary{Old: blue, New: green, Percent: 101})
	assert.ErrorIs(t, err, ErrInvalidTemplateData)
	bad := green
	bad.DeployID = "a;b"
	_, err = MustParseTemplate(DefaultTemplate).RenderCanary(Canary{Old: blue, New: bad, Percent: 10})
	assert.ErrorIs(t, err, ErrInvalidTemplateData)
	_, err = MustParseTemplate(DefaultTemplate).RenderCanary(Canary{Old: blue, New: blue, Percent: 10})
	assert.ErrorIs(t, err, ErrInvalidTemplateData)
}

// TestCanaryTwoProjectsApart: two projects behind one nginx get their own
// variables and cookie.
func TestCanaryTwoProjectsApart(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "bluegreen_shop", Canary{Old: TemplateData{Project: "shop-blue"}}.CookieName())
	assert.Equal(t, "bluegreen_my_app", Canary{Name: "my-app"}.CookieName())
	assert.Equal(t, "bluegreen_app", Canary{}.CookieName())
}

// TestHexBelow: the regex for "bucket below n" matches exactly the
// three-digit hex numbers below n.
func TestHexBelow(t *testing.T) {
	t.Parallel()
	ns := []int{0, 1, 2, 15, 16, 17, 255, 256, 257, 409, 410, 2048, 4095, 4096}
	for n := 3; n < buckets; n += 97 {
		ns = append(ns, n)
	}
	for _, n := range ns {
		re := hexBelow(n)
		if n == 0 {
			assert.Empty(t, re)
			continue
		}
		rx := regexp.MustCompile("^(" + re + ")$")
		for v := 0; v < buckets; v++ {
			if got := rx.MatchString(fmt.Sprintf("%03x", v)); got != (v < n) {
				t.Fatalf("hexBelow(%d) = %q matches %03x: %v", n, re, v, got)
			}
		}
	}
	assert.Equal(t, 410, bucketsFor(10), "10 % of 4096, rounded")
	assert.Equal(t, 0, bucketsFor(0))
	assert.Equal(t, buckets, bucketsFor(100))
}

// TestPeerKeys: each key lands on its server by nginx's hash arithmetic
// ((crc32 >> 16) & 0x7fff modulo the total weight, servers walked in
// order), weights included.
func TestPeerKeys(t *testing.T) {
	t.Parallel()
	peers := []peer{{weight: 1}, {weight: 3}, {weight: 1}, {weight: 2}}
	keys, err := peerKeys(peers)
	require.NoError(t, err)
	for i, k := range keys {
		w := int((crc32.ChecksumIEEE([]byte(k))>>16)&0x7fff) % 7
		p := 0
		for w >= peers[p].weight {
			w -= peers[p].weight
			p++
		}
		assert.Equal(t, i, p, "key %q", k)
	}
	_, err = peerKeys([]peer{{weight: 0x8000}})
	assert.Error(t, err)
}

// TestMarkerAnswer: the marker location's answer reads back whole, and
// anything else is refused.
func TestMarkerAnswer(t *testing.T) {
	t.Parallel()
	for _, m := range []Marker{
		{Color: color.Green, DeployID: "x"},
		{Color: color.Blue, DeployID: "a", Canary: color.Green, Percent: 50, Next: "b"},
		{Color: color.Blue, DeployID: "a", Maintenance: true},
	} {
		got, ok := ParseMarkerAnswer(m.Answer() + "\n")
		require.True(t, ok, m.Answer())
		assert.Equal(t, m, got)
	}
	for _, bad := range []string{"", "<html>403</html>", "color=blue deploy=a\ncolor=green", "color=blue deploy=a canary=blue:5 next=b", "color=blue deploy=a canary=green:500 next=b", "color=blue deploy=a extra"} {
		_, ok := ParseMarkerAnswer(bad)
		assert.False(t, ok, "%q", bad)
	}
	assert.Equal(t, "blue (deploy a) with 50 % of requests on green (deploy b)", Marker{Color: color.Blue, DeployID: "a", Canary: color.Green, Percent: 50, Next: "b"}.String())
	assert.Equal(t, "the maintenance page in front of blue (deploy -)", Marker{Color: color.Blue, Maintenance: true}.String())
}

package nginx

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bucketsPerServer reads the key map of an http-context canary and says,
// for each server of the merged upstream block (in its order: old ones
// first), how many of the 4096 buckets nginx sends to it, and which
// servers the map names. Keys are "s<server>k<n>" (peerKeys), and the
// map's regexes are tried in order, as nginx does.
func bucketsPerServer(t *testing.T, include string) (counts map[int]int, named []int) {
	t.Helper()
	line := ""
	for _, l := range strings.Split(include, "\n") {
		if strings.HasPrefix(l, "map $bluegreen_app_bucket $bluegreen_app_app_backend_key {") {
			line = l
		}
	}
	require.NotEmpty(t, line, "no key map in:\n%s", include)
	server := func(key string) int {
		m := regexp.MustCompile(`^s([0-9]+)k[0-9]+$`).FindStringSubmatch(key)
		require.NotNil(t, m, "key %q", key)
		i, _ := strconv.Atoi(m[1])
		return i
	}
	type entry struct {
		re     *regexp.Regexp
		server int
	}
	var entries []entry
	for _, m := range regexp.MustCompile(`"~(\^\([^"]*\)\$)" (s[0-9]+k[0-9]+);`).FindAllStringSubmatch(line, -1) {
		entries = append(entries, entry{regexp.MustCompile(m[1]), server(m[2])})
		named = append(named, server(m[2]))
	}
	def := regexp.MustCompile(`default (s[0-9]+k[0-9]+); }$`).FindStringSubmatch(line)
	require.NotNil(t, def, "no default in %q", line)
	named = append(named, server(def[1]))
	counts = map[int]int{}
	for b := 0; b < buckets; b++ {
		bucket := fmt.Sprintf("%03x", b)
		to := server(def[1])
		for _, e := range entries {
			if e.re.MatchString(bucket) {
				to = e.server
				break
			}
		}
		counts[to]++
	}
	return counts, named
}

// TestCanaryUpstreamSplitsEachSideEvenly: in http context the new color's
// servers share the canary's buckets evenly and the old color's servers
// the rest, and the key map names only servers that get buckets, however
// the servers and the percent fall (more servers on a side than it has
// buckets included).
func TestCanaryUpstreamSplitsEachSideEvenly(t *testing.T) {
	t.Parallel()
	servers := func(n, port int) []Server {
		var s []Server
		for i := 0; i < n; i++ {
			s = append(s, Server{Host: "127.0.0.1", Port: port + i})
		}
		return s
	}
	tmpl := MustParseTemplate(UpstreamTemplate("app_backend"))
	for _, tt := range []struct{ old, new, percent int }{
		{1, 1, 10}, {2, 2, 50}, {3, 2, 25}, {1, 2, 0}, {2, 1, 100}, {2, 43, 1}, {43, 1, 99},
	} {
		t.Run(fmt.Sprintf("%d old, %d new, %d %%", tt.old, tt.new, tt.percent), func(t *testing.T) {
			t.Parallel()
			blue, green := goldenData()
			green.DeployID = "run-43"
			blue.Servers, green.Servers = servers(tt.old, 8100), servers(tt.new, 8200)
			b, err := tmpl.RenderCanary(Canary{Old: blue, New: green, Percent: tt.percent})
			require.NoError(t, err)
			counts, named := bucketsPerServer(t, string(b))
			share := bucketsFor(tt.percent)
			side := func(from, n, total int) {
				sum := 0
				for i := from; i < from+n; i++ {
					sum += counts[i]
					assert.GreaterOrEqual(t, counts[i], total/n, "server %d gets less than its even share of %d buckets over %d servers", i, total, n)
					assert.LessOrEqual(t, counts[i], (total+n-1)/n, "server %d gets more than its even share of %d buckets over %d servers", i, total, n)
				}
				assert.Equal(t, total, sum)
			}
			side(0, tt.old, buckets-share)
			side(tt.old, tt.new, share)
			for _, s := range named {
				assert.Positive(t, counts[s], "the map names server %d, which gets no bucket", s)
			}
		})
	}
}

// TestPeerKeysWeightLimit: nginx's hash spreads over at most 0x7fff weight
// units; an upstream whose weights add up to exactly that is accepted.
func TestPeerKeysWeightLimit(t *testing.T) {
	t.Parallel()
	keys, err := peerKeys([]peer{{weight: 0x7ffe}, {weight: 1}})
	require.NoError(t, err)
	assert.Equal(t, 0x7ffe, hashPoint(keys[1], 0x7fff), "the key lands on the last unit, the second server's")
	_, err = peerKeys([]peer{{weight: 0x7fff}, {weight: 1}})
	assert.ErrorContains(t, err, "add up to 32768")
}

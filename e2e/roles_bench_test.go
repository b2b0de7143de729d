//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkAppWithDatabase measures a deploy of examples/app-with-database
// (web, worker and scheduler per color; db and cache shared; a migration
// job) beside a deploy of its web service alone, alternately in the same
// run on the same daemon, each from a live previous color. It reports the
// mean seconds of each and their ratio; it asserts nothing about them.
// With only the colored services restarting, the ratio should stay near 1
// (issue 17 aims at 1.3 at most).
//
//	go test -tags e2e ./e2e -run '^$' -bench AppWithDatabase -benchtime 3x
func BenchmarkAppWithDatabase(b *testing.B) {
	app, _ := shopFixture(b)
	app.inputs["health-path"] = "/health"
	web := newFixture(b, map[string]string{})
	image, _, _ := shopImages(b, app.docker)
	require.NoError(b, os.WriteFile(filepath.Join(web.dir, "docker-compose.yml"), []byte(fmt.Sprintf(`services:
  web:
    image: %s
    command: ["web"]
    ports: ["${BLUEGREEN_PORT}:8080"]
    environment:
      VERSION: ${VERSION}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
`, image)), 0o644))
	web.inputs["health-path"] = "/"
	deploy := func(f *fixture, version string) time.Duration {
		r := f.deploy(nil, "VERSION="+version)
		require.Equal(b, 0, r.code, r.out)
		return r.took
	}
	deploy(app, "v0") // the first deploys create what later ones keep
	deploy(web, "v0")
	var withDB, alone time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v := fmt.Sprintf("v%d", i+1)
		withDB += deploy(app, v)
		alone += deploy(web, v)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(withDB.Seconds()/n, "app-with-db-s")
	b.ReportMetric(alone.Seconds()/n, "web-alone-s")
	b.ReportMetric(withDB.Seconds()/alone.Seconds(), "ratio")
}

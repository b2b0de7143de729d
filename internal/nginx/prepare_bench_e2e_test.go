//go:build e2e

package nginx

import (
	"context"
	"testing"
	"time"
)

// The cost of a switch against a real nginx, split as issue 21 wants it:
// Prepare runs while the new color starts, so only Commit is on the path
// to the new version. Switch (write, nginx -t, reload, confirm) is the
// reference. Run:
//
//	go test -tags e2e ./internal/nginx -run '^$' -bench 'Prepare|Commit|Switch' -benchtime 20x

// benchSetup alternates the include between blue and green.
func benchSetup(b *testing.B) (*realSetup, func(i int) []byte) {
	s := startReal(b, 0)
	return s, func(i int) []byte {
		d := s.green.data
		if i%2 == 1 {
			d = s.blue.data
		}
		out, err := s.tmpl.Render(d)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
}

func BenchmarkPrepare(b *testing.B) {
	s, next := benchSetup(b)
	s.sw.Logf = nil
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		p, err := s.sw.Prepare(ctx, next(i))
		if err != nil || !p.Validated {
			b.Fatalf("prepare: %v (%s)", err, p.Why)
		}
	}
}

func BenchmarkCommit(b *testing.B) {
	s, next := benchSetup(b)
	s.sw.Logf = nil
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p, err := s.sw.Prepare(ctx, next(i))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		r, err := s.sw.Commit(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := Drain(ctx, r, "", 10*time.Second); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func BenchmarkSwitch(b *testing.B) {
	s, next := benchSetup(b)
	s.sw.Logf = nil
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		r, err := s.sw.Switch(ctx, next(i))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := Drain(ctx, r, "", 10*time.Second); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

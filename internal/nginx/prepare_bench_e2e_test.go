//go:build e2e

package nginx

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/execx"
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

// BenchmarkSwitchPhases interleaves a prepared switch and a plain one, so
// that load on the machine weighs on both alike, and reports the median
// of each part in milliseconds: Prepare (nginx -T, then nginx -t on the
// candidate), Commit (reload command, then new workers), and Switch.
func BenchmarkSwitchPhases(b *testing.B) {
	s, next := benchSetup(b)
	s.sw.Logf = nil
	ctx := context.Background()
	cmds := map[string][]time.Duration{}
	real := s.sw.Run
	s.sw.Run = func(ctx context.Context, args []string) (execx.Result, error) {
		start := time.Now()
		var res execx.Result
		var err error
		if real != nil {
			res, err = real(ctx, args)
		} else {
			res, err = execx.Run(ctx, args)
		}
		kind := args[len(args)-1]
		if len(args) > 2 && args[len(args)-2] == "-c" {
			kind = "candidate -t"
		}
		cmds[kind] = append(cmds[kind], time.Since(start))
		return res, err
	}
	var prepare, commit, confirm, sw []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		p, err := s.sw.Prepare(ctx, next(2*i))
		if err != nil || !p.Validated {
			b.Fatalf("prepare: %v (%s)", err, p.Why)
		}
		prepare = append(prepare, time.Since(start))
		start = time.Now()
		r, err := s.sw.Commit(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		commit, confirm = append(commit, time.Since(start)), append(confirm, r.ConfirmedAfter)
		if _, err := Drain(ctx, r, "", 10*time.Second); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if r, err = s.sw.Switch(ctx, next(2*i+1)); err != nil {
			b.Fatal(err)
		}
		sw = append(sw, time.Since(start))
		if _, err := Drain(ctx, r, "", 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	report := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		if len(ds) > 0 {
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, name+"-ms")
		}
	}
	report("prepare", prepare)
	report("commit", commit)
	report("commit-confirm", confirm)
	report("switch", sw)
	report("nginx-T", cmds["-T"])
	report("candidate-t", cmds["candidate -t"])
	report("nginx-t", cmds["-t"])
	report("reload-cmd", cmds["reload"])
	b.ReportMetric(0, "ns/op")
}

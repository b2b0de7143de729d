// Command bench measures deploys on a throw-away site (the example app, a
// private nginx) and prints the figures. It is a command, not a timed
// test, so that a slow machine prints slow figures instead of failing.
//
//	go run ./cmd/bench speed     # deploys and rollbacks of an app ready 1 s after start: wall time and phases
//	go run ./cmd/bench load      # 20 deploys and a rollback under load: requests and failures by kind
//	go run ./cmd/bench report    # one run: sizes, then 1/3/6 services and 3 replicas, idle and under load, beside the floor
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bluegreen-action/bluegreen/cmd/internal/demosite"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/loadgen"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: bench [-n N] speed|load|report")
		flag.PrintDefaults()
	}
	n := flag.Int("n", 0, "deploys to run (speed: 6, load: 20, report: 6 a row)")
	memprofile := flag.String("memprofile", "", "write a heap profile of this process (deploys run in it, and the load generator) to this file at the end")
	only := flag.String("shapes", "", "report: the app shapes to deploy, comma-separated among 1,3,6,3r (default all)")
	idleOnly := flag.Bool("idle", false, "report: only the idle rows (no load, no peak RSS), for a quick look")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	switch flag.Arg(0) {
	case "speed":
		err = speed(ctx, orDefault(*n, 6))
	case "load":
		err = load(ctx, orDefault(*n, 20))
	case "report":
		err = report(ctx, orDefault(*n, 6), *only, *idleOnly)
	default:
		flag.Usage()
		os.Exit(2)
	}
	stop()
	if *memprofile != "" {
		if perr := writeHeapProfile(*memprofile); perr != nil {
			fmt.Fprintln(os.Stderr, "bench:", perr)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench failed:", err)
		os.Exit(1)
	}
}

// writeHeapProfile writes the heap profile, whose alloc_space sample
// counts every allocation since the start (go tool pprof -sample_index
// alloc_space), by function: the deploy's own allocations show apart
// from the load generator's.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.WriteHeapProfile(f)
}

func orDefault(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// speed deploys an app that answers its health check 1 s after start, n
// times alternating colors, with the action's default inputs and then with
// a 100 ms probe interval, and measures the floor on the same machine in
// the same run: what the bare work of a deploy takes (see floor). It
// prints each wall time and its ratio to the floor.
func speed(ctx context.Context, n int) error {
	s, err := demosite.New(ctx, fmt.Sprintf("bgbench-%d", os.Getpid()))
	if err != nil {
		return err
	}
	defer s.Close()
	defer removeFloorNetwork(s)
	var floors []time.Duration
	for i := 0; i < n; i++ {
		f, err := floor(ctx, s, s.GreenPort)
		if err != nil {
			return err
		}
		floors = append(floors, f)
	}
	floorMean := mean(floors)
	fmt.Printf("floor (docker run until /health answers 200, one nginx reload, docker stop + rm; %d runs): %s\n", len(floors), stats(floors))
	runs := []struct {
		name   string
		inputs map[string]string
	}{
		// Empty inputs fall back to the action's defaults.
		{"default inputs (health-interval 2s, health-start-interval 100ms)", map[string]string{"health-interval": "", "health-retries": ""}},
		{"health-interval 100ms", map[string]string{"health-interval": "100ms"}},
	}
	for _, run := range runs {
		fmt.Printf("app ready 1 s after start; %s; %d deploys\n", run.name, n)
		var walls, served []time.Duration
		phases := map[deploy.PhaseKind][]time.Duration{}
		var order []deploy.PhaseKind
		for i := 1; i <= n+1; i++ {
			res, code := s.Deploy(ctx, run.inputs, map[string]string{"VERSION": "v" + strconv.Itoa(i), "READY_AFTER": "1s"}, io.Discard)
			if code != 0 {
				return fmt.Errorf("deploy %d exited %d: %v", i, code, res.Err)
			}
			if i == 1 {
				continue // the first deploy has no old color to drain and stop
			}
			walls = append(walls, res.Elapsed)
			served = append(served, inService(res))
			for _, p := range res.Phases {
				if _, ok := phases[p.Kind]; !ok {
					order = append(order, p.Kind)
				}
				phases[p.Kind] = append(phases[p.Kind], p.Duration)
			}
		}
		fmt.Printf("  wall per deploy (blue<->green, %d runs): %s; wall / floor %.2fx\n", len(walls), stats(walls), float64(mean(walls))/float64(floorMean))
		fmt.Printf("  new version served through nginx after:  %s\n", stats(served))
		for _, kind := range order {
			fmt.Printf("    %-28s %s\n", kind, stats(phases[kind]))
		}
	}
	// Rollbacks: a deploy that keeps the previous color, then mode rollback.
	var back, whole []time.Duration
	for i := 1; i <= 3; i++ {
		res, code := s.Deploy(ctx, map[string]string{"keep-previous": "true"}, map[string]string{"VERSION": "r" + strconv.Itoa(i), "READY_AFTER": "1s"}, io.Discard)
		if code != 0 {
			return fmt.Errorf("keep-previous deploy exited %d: %v", code, res.Err)
		}
		res, code = s.Deploy(ctx, map[string]string{"mode": "rollback"}, nil, io.Discard)
		if code != 0 {
			return fmt.Errorf("rollback exited %d: %v", code, res.Err)
		}
		back = append(back, inService(res))
		whole = append(whole, res.Elapsed)
	}
	fmt.Printf("rollback of an app ready 1 s after start (%d runs, health-interval 100ms):\n", len(back))
	fmt.Printf("  previous version in service through nginx after: %s\n", stats(back))
	fmt.Printf("  whole rollback incl. drain and stop:             %s\n", stats(whole))
	return nil
}

// load runs n deploys under load, then a keep-previous deploy and a
// rollback, and prints the requests by kind and the times.
func load(ctx context.Context, n int) error {
	s, err := demosite.New(ctx, fmt.Sprintf("bgbench-%d", os.Getpid()))
	if err != nil {
		return err
	}
	defer s.Close()
	// Every version answers its health check 1 s after it starts.
	app := func(v string) map[string]string { return map[string]string{"VERSION": v, "READY_AFTER": "1s"} }
	res, code := s.Deploy(ctx, nil, app("v0"), io.Discard)
	if code != 0 {
		return fmt.Errorf("first deploy exited %d: %v", code, res.Err)
	}
	switches := []loadgen.Switch{{Version: "v0", Began: res.Started}}
	gen := loadgen.Start(ctx, loadgen.Config{BaseURL: s.Nginx.URL(""), MaxRequests: 200_000})
	time.Sleep(500 * time.Millisecond)
	var walls []time.Duration
	for i := 1; i <= n; i++ {
		v := "v" + strconv.Itoa(i)
		res, code := s.Deploy(ctx, nil, app(v), io.Discard)
		if code != 0 {
			gen.Stop()
			return fmt.Errorf("deploy of %s exited %d: %v", v, code, res.Err)
		}
		walls = append(walls, res.Elapsed)
		switches = append(switches, marks(v, res))
	}
	// A deploy that keeps the previous color, then a rollback to it.
	v := "v" + strconv.Itoa(n+1)
	res, code = s.Deploy(ctx, map[string]string{"keep-previous": "true"}, app(v), io.Discard)
	if code != 0 {
		gen.Stop()
		return fmt.Errorf("keep-previous deploy exited %d: %v", code, res.Err)
	}
	switches = append(switches, marks(v, res))
	back, code := s.Deploy(ctx, map[string]string{"mode": "rollback"}, nil, io.Discard)
	if code != 0 {
		gen.Stop()
		return fmt.Errorf("rollback exited %d: %v", code, back.Err)
	}
	switches = append(switches, marks("v"+strconv.Itoa(n), back))
	time.Sleep(500 * time.Millisecond)
	records := gen.Stop()

	sum := loadgen.Summary(records)
	fmt.Printf("%d deploys, then a keep-previous deploy and a rollback, under load through nginx:\n%s", n, loadgen.Format(sum))
	fmt.Printf("deploy wall time: %s\n", stats(walls))
	fmt.Printf("rollback: nginx back on %s (%s) %s after the rollback started; whole run incl. drain and stop %s\n",
		back.Active, back.ActiveURL, inService(back).Round(time.Millisecond), back.Elapsed.Round(time.Millisecond))
	for _, p := range back.Phases {
		fmt.Printf("    %-44s %8s\n", p.Name, p.Duration.Round(time.Millisecond))
	}
	problems := loadgen.Check(records, rollbackAware(switches))
	if len(problems) > 0 {
		return errors.New("zero-downtime violations:\n  " + strings.Join(problems, "\n  "))
	}
	fmt.Println("zero-downtime check: no violations (POST failures, if any, are all the keep-alive race)")
	return nil
}

// rollbackAware merges a rollback's mark into the version it brought back,
// which answered before (its first switch) and again after the rollback.
func rollbackAware(sw []loadgen.Switch) []loadgen.Switch {
	last := sw[len(sw)-1]
	out := sw[:len(sw)-1]
	for i := range out {
		if out[i].Version == last.Version && i+1 < len(out) {
			// The version serves from its first switch until the next
			// deploy's drain, and again from the rollback: do not hold it to
			// the next drain.
			out[i+1].Drained = time.Time{}
		}
	}
	return out
}

// inService is the time from a run's start to the end of its nginx switch:
// from then on nginx sends new requests to the color it brought back.
func inService(res *deploy.Result) time.Duration {
	for _, p := range res.Phases {
		if p.Kind == deploy.PhaseSwitch {
			return p.Start.Add(p.Duration).Sub(res.Started)
		}
	}
	return 0
}

func marks(version string, res *deploy.Result) loadgen.Switch {
	s := loadgen.Switch{Version: version}
	for _, p := range res.Phases {
		switch p.Kind {
		case deploy.PhaseSwitch:
			s.Began = p.Start
		case deploy.PhaseDrain:
			s.Drained = p.Start.Add(p.Duration)
		}
	}
	return s
}

func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	r := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return fmt.Sprintf("mean %s  min %s  median %s  max %s", r(sum/time.Duration(len(ds))), r(sorted[0]), r(sorted[len(sorted)/2]), r(sorted[len(sorted)-1]))
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

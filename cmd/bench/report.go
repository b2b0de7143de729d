package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/cmd/internal/demosite"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/loadgen"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// defaultInputs leave the health inputs the site sets to the action's
// defaults (health-interval 2s, health-start-interval 100ms).
var defaultInputs = map[string]string{"health-interval": "", "health-retries": ""}

// shapes are the apps the report deploys.
var shapes = []demosite.Shape{{Services: 1}, {Services: 3}, {Services: 6}, {Services: 1, Replicas: 3}}

// rssRuns is how many deploys of each row run as a process of their own,
// for the peak RSS.
const rssRuns = 2

// row is one line of the report: one app shape, idle or under load.
type row struct {
	shape          demosite.Shape
	load           bool
	toNew, wall    []time.Duration // toNew: until the front door served the new version (see watcher)
	confirmed      []time.Duration // until the switch phase ended: the new color confirmed serving
	floorStarted   []time.Duration // idle rows: the floor, run between the deploys
	floorToNew     []time.Duration
	floorWall      []time.Duration
	phases         map[deploy.PhaseKind][]time.Duration
	order          []deploy.PhaseKind
	peakRSS        int64
	sum            map[loadgen.Kind]*loadgen.Counts
	problems       []string
	processDeploys int
}

// report prints in one run what issue 21 asks of the benchmark: the
// action's binary and image size, then for apps of 1, 3 and 6 services
// and a traffic service of 3 replicas, idle and under load, the time to
// the new version and the wall time of n deploys with the action's
// default inputs beside the floor's (each idle deploy right after a floor
// run on the same site, the shapes taking turns), the phases, the
// requests that failed, and the action's peak RSS (of rssRuns more
// deploys each, by the built binary in a process of its own).
func report(ctx context.Context, n int, only string, idleOnly bool) error {
	chosen, err := pickShapes(only)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bluegreen-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := demosite.BuildAction(dir)
	if err != nil {
		return err
	}
	fmt.Printf("bench report: %d deploys a row, app ready 1 s after start, default inputs; %d CPUs, %s\n", n, runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))
	if err := printSizes(ctx, bin); err != nil {
		return err
	}
	// Every shape's site at once, so that the idle deploys can take turns:
	// each round runs every shape's floor and deploy, and a change in the
	// machine's load (other work on it) falls on every shape alike.
	var runs []*shapeRun
	defer func() {
		for _, sr := range runs {
			removeFloorNetwork(sr.s)
			sr.s.Close()
		}
	}()
	for i, sh := range chosen {
		sr, err := newShapeRun(ctx, sh, i)
		if err != nil {
			return fmt.Errorf("%s: %w", sh, err)
		}
		runs = append(runs, sr)
	}
	for i := 0; i < n; i++ {
		for _, sr := range runs {
			if err := sr.idleOnce(ctx); err != nil {
				return fmt.Errorf("%s: %w", sr.idle.shape, err)
			}
		}
	}
	var rows []*row
	for _, sr := range runs {
		if !idleOnly {
			if err := processDeploys(ctx, sr.s, bin, sr.idle, sr.next); err != nil {
				return fmt.Errorf("%s: %w", sr.idle.shape, err)
			}
		}
		printRow(sr.idle)
		rows = append(rows, sr.idle)
	}
	for _, sr := range runs {
		if idleOnly {
			break
		}
		if err := sr.underLoad(ctx, n, bin); err != nil {
			return fmt.Errorf("%s: %w", sr.loaded.shape, err)
		}
		printRow(sr.loaded)
		rows = append(rows, sr.loaded)
	}
	printTable(rows)
	printTargets(rows)
	var bad []string
	for _, r := range rows {
		for _, p := range r.problems {
			bad = append(bad, fmt.Sprintf("%s, %s: %s", r.shape, loadWord(r.load), p))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("zero-downtime violations:\n  %s", strings.Join(bad, "\n  "))
	}
	return nil
}

// shapeRun is the site of one app shape and its two rows.
type shapeRun struct {
	s            *demosite.Site
	floorPort    int
	version      int
	idle, loaded *row
}

// newShapeRun makes the site of sh and deploys its first version, which
// has no old color to drain and stop.
func newShapeRun(ctx context.Context, sh demosite.Shape, i int) (*shapeRun, error) {
	s, err := demosite.NewShaped(ctx, fmt.Sprintf("bgbench-%d-%d", os.Getpid(), i), sh)
	if err != nil {
		return nil, err
	}
	sr := &shapeRun{s: s,
		idle:   &row{shape: sh, phases: map[deploy.PhaseKind][]time.Duration{}},
		loaded: &row{shape: sh, load: true, phases: map[deploy.PhaseKind][]time.Duration{}},
	}
	if sr.floorPort, err = throwaway.FreePort(); err != nil {
		s.Close()
		return nil, err
	}
	if res, code := s.Deploy(ctx, defaultInputs, sr.next(), io.Discard); code != 0 {
		s.Close()
		return nil, fmt.Errorf("first deploy exited %d: %v", code, res.Err)
	}
	return sr, nil
}

// next is the app's environment for the next version.
func (sr *shapeRun) next() map[string]string {
	sr.version++
	return map[string]string{"VERSION": "v" + strconv.Itoa(sr.version), "READY_AFTER": "1s"}
}

// idleOnce runs the floor, then one deploy.
func (sr *shapeRun) idleOnce(ctx context.Context) error {
	m, err := floorRun(ctx, sr.s, sr.floorPort)
	if err != nil {
		return err
	}
	sr.idle.floorStarted = append(sr.idle.floorStarted, m.started)
	sr.idle.floorToNew = append(sr.idle.floorToNew, m.toNew)
	sr.idle.floorWall = append(sr.idle.floorWall, m.wall)
	env := sr.next()
	w := watchFrontDoor(ctx, sr.s.Nginx.URL("/"), env["VERSION"])
	res, code := sr.s.Deploy(ctx, defaultInputs, env, io.Discard)
	if code != 0 {
		w.stop()
		return fmt.Errorf("deploy exited %d: %v", code, res.Err)
	}
	return sr.idle.add(res, w)
}

// underLoad runs n deploys under load, then rssRuns by the binary under
// the same load.
func (sr *shapeRun) underLoad(ctx context.Context, n int, bin string) error {
	s, loaded := sr.s, sr.loaded
	gen := loadgen.Start(ctx, loadgen.Config{BaseURL: s.Nginx.URL(""), MaxRequests: 200_000})
	time.Sleep(500 * time.Millisecond)
	// The version deployed last (by a process) serves until the first
	// switch of this session.
	switches := []loadgen.Switch{{Version: "v" + strconv.Itoa(sr.version), Began: time.Now().Add(-time.Hour)}}
	for i := 0; i < n; i++ {
		env := sr.next()
		w := watchFrontDoor(ctx, s.Nginx.URL("/"), env["VERSION"])
		res, code := s.Deploy(ctx, defaultInputs, env, io.Discard)
		if code != 0 {
			w.stop()
			gen.Stop()
			return fmt.Errorf("deploy under load exited %d: %v", code, res.Err)
		}
		if err := loaded.add(res, w); err != nil {
			gen.Stop()
			return err
		}
		switches = append(switches, marks(env["VERSION"], res))
	}
	time.Sleep(500 * time.Millisecond)
	records := gen.Stop()
	loaded.sum = loadgen.Summary(records)
	loaded.problems = loadgen.Check(records, switches)

	// Peak RSS under load: the same load, deploys by the binary. Their
	// switches are not known here, so only failures are checked.
	gen = loadgen.Start(ctx, loadgen.Config{BaseURL: s.Nginx.URL(""), MaxRequests: 200_000})
	time.Sleep(500 * time.Millisecond)
	err := processDeploys(ctx, s, bin, loaded, sr.next)
	time.Sleep(500 * time.Millisecond)
	more := gen.Stop()
	if err != nil {
		return err
	}
	for k, c := range loadgen.Summary(more) {
		t := loaded.sum[k]
		t.Sent += c.Sent
		t.OK += c.OK
		t.Non2xx += c.Non2xx
		t.Transport += c.Transport
		t.IdleResets += c.IdleResets
	}
	loaded.problems = append(loaded.problems, loadgen.Check(more, nil)...)
	return nil
}

// processDeploys runs rssRuns deploys by the action's binary and keeps
// the highest peak RSS in r.
func processDeploys(ctx context.Context, s *demosite.Site, bin string, r *row, next func() map[string]string) error {
	for i := 0; i < rssRuns; i++ {
		var out strings.Builder
		run, err := s.DeployProcess(ctx, bin, defaultInputs, next(), &out)
		if err != nil {
			return err
		}
		if run.Code != 0 {
			return fmt.Errorf("deploy by %s exited %d:\n%s", bin, run.Code, out.String())
		}
		r.peakRSS = max(r.peakRSS, run.MaxRSS)
		r.processDeploys++
	}
	return nil
}

// pickShapes returns the shapes named in only ("1,3,6,3r"), all for "".
func pickShapes(only string) ([]demosite.Shape, error) {
	if only == "" {
		return shapes, nil
	}
	names := map[string]demosite.Shape{"1": shapes[0], "3": shapes[1], "6": shapes[2], "3r": shapes[3]}
	var out []demosite.Shape
	for _, name := range strings.Split(only, ",") {
		sh, ok := names[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("-shapes: unknown shape %q: valid are 1, 3, 6 (services) and 3r (web with 3 replicas)", name)
		}
		out = append(out, sh)
	}
	return out, nil
}

// add records a deploy that succeeded, w having watched its front door.
func (r *row) add(res *deploy.Result, w *watcher) error {
	served, err := w.wait(time.Second)
	if err != nil {
		return fmt.Errorf("after a deploy that succeeded: %w", err)
	}
	r.toNew = append(r.toNew, served.Sub(res.Started))
	r.confirmed = append(r.confirmed, inService(res))
	r.wall = append(r.wall, res.Elapsed)
	for _, p := range res.Phases {
		if _, ok := r.phases[p.Kind]; !ok {
			r.order = append(r.order, p.Kind)
		}
		r.phases[p.Kind] = append(r.phases[p.Kind], p.Duration)
	}
	return nil
}

func loadWord(load bool) string {
	if load {
		return "under load"
	}
	return "idle"
}

// printRow prints one row's details as soon as it is measured.
func printRow(r *row) {
	fmt.Printf("\n%s, %s, %d deploys:\n", r.shape, loadWord(r.load), len(r.wall))
	if len(r.floorWall) > 0 {
		fmt.Printf("  floor, container started:     %s\n", stats(r.floorStarted))
		fmt.Printf("  floor, time to new version:   %s\n", stats(r.floorToNew))
		fmt.Printf("  floor, wall (incl. stop, rm): %s\n", stats(r.floorWall))
	}
	fmt.Printf("  time to new version:          %s\n", stats(r.toNew))
	fmt.Printf("  switch confirmed:             %s\n", stats(r.confirmed))
	fmt.Printf("  wall:                         %s\n", stats(r.wall))
	for _, kind := range r.order {
		fmt.Printf("    %-26s %s\n", kind, stats(r.phases[kind]))
	}
	fmt.Printf("  peak RSS of the action (%d deploys by the binary): %.1f MB\n", r.processDeploys, float64(r.peakRSS)/1e6)
	if r.sum != nil {
		fmt.Print(indentLines(loadgen.Format(r.sum), "  "))
	}
	for _, p := range r.problems {
		fmt.Println("  VIOLATION:", p)
	}
}

// printTable prints the summary table in the Markdown docs/development.md
// keeps. Ratios are of medians, against the idle floor of the same shape's
// site (the floor is one container whatever the shape).
func printTable(rows []*row) {
	fmt.Println("\n| app | load | time to new version | floor | ratio | wall | floor wall | ratio | failed GET / slow / POST | peak RSS |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
	floorNew, floorWall := map[demosite.Shape]time.Duration{}, map[demosite.Shape]time.Duration{}
	for _, r := range rows {
		if len(r.floorWall) > 0 {
			floorNew[r.shape], floorWall[r.shape] = median(r.floorToNew), median(r.floorWall)
		}
	}
	for _, sh := range shapes {
		for _, r := range rows {
			if r.shape == sh {
				printTableRow(r, floorNew[sh], floorWall[sh])
			}
		}
	}
}

func printTableRow(r *row, floorNew, floorWall time.Duration) {
	failed := "-"
	if r.sum != nil {
		get := r.sum[loadgen.KeepAliveGET].Sent - r.sum[loadgen.KeepAliveGET].OK + r.sum[loadgen.NewConnGET].Sent - r.sum[loadgen.NewConnGET].OK
		slow := r.sum[loadgen.Slow].Sent - r.sum[loadgen.Slow].OK
		post := r.sum[loadgen.POST].Sent - r.sum[loadgen.POST].OK
		sent := 0
		for _, c := range r.sum {
			sent += c.Sent
		}
		failed = fmt.Sprintf("%d / %d / %d of %d", get, slow, post, sent)
	}
	tn, w := median(r.toNew), median(r.wall)
	fmt.Printf("| %s | %s | %s | %s | %.2f× | %s | %s | %.2f× | %s | %.1f MB |\n", r.shape, loadWord(r.load),
		secs(tn), secs(floorNew), float64(tn)/float64(floorNew), secs(w), secs(floorWall), float64(w)/float64(floorWall), failed, float64(r.peakRSS)/1e6)
}

// printTargets prints issue 21's ratios: idle, one service, time to new
// version over the floor's; six services over one, idle.
func printTargets(rows []*row) {
	idle := map[demosite.Shape]*row{}
	for _, r := range rows {
		if !r.load {
			idle[r.shape] = r
		}
	}
	one, six := idle[shapes[0]], idle[shapes[2]]
	if one != nil {
		fmt.Printf("\nidle, 1 service: time to new version / the floor's = %.2f× (target 1.0×)\n", float64(median(one.toNew))/float64(median(one.floorToNew)))
	}
	if one != nil && six != nil {
		fmt.Printf("idle, 6 services / 1 service: time to new version %.2f×, wall %.2f× (target 1.3×)\n",
			float64(median(six.toNew))/float64(median(one.toNew)), float64(median(six.wall))/float64(median(one.wall)))
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func indentLines(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

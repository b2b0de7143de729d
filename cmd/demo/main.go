// Command demo performs a real blue-green deploy on this machine in one
// command: it builds the example app into a local image (no registry),
// starts a private nginx on a high port, deploys two versions in turn
// through the same code the action runs, shows the switch, and cleans up.
//
//	go run ./cmd/demo          # the switch and its timings
//	go run ./cmd/demo -v       # plus the deploy's full log
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bluegreen-action/bluegreen/cmd/internal/demosite"
	"github.com/bluegreen-action/bluegreen/internal/deploy"
)

func main() {
	verbose := flag.Bool("v", false, "print each deploy's full log")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *verbose)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, verbose bool) error {
	fmt.Println("bluegreen demo: building the example app image and starting a private nginx…")
	s, err := demosite.New(ctx, fmt.Sprintf("bluegreen-demo-%d", os.Getpid()))
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("cleaning up: removing both colors and stopping nginx")
		s.Close()
	}()
	fmt.Printf("nginx listens on %s; blue publishes :%d, green :%d; include %s\n\n", s.Nginx.URL("/"), s.BluePort, s.GreenPort, s.Nginx.IncludePath)

	var log io.Writer = io.Discard
	if verbose {
		log = prefixWriter{os.Stdout, "    | "}
	}
	for _, version := range []string{"v1", "v2"} {
		fmt.Printf("deploying %s (the app answers its health check 1 s after start)…\n", version)
		res, code := s.Deploy(ctx, nil, map[string]string{"VERSION": version, "READY_AFTER": "1s"}, log)
		if code != 0 {
			return fmt.Errorf("deploy of %s exited %d: %v", version, code, res.Err)
		}
		printResult(res)
		body, err := get(s.Nginx.URL("/"))
		if err != nil {
			return err
		}
		fmt.Printf("  GET %s -> %s\n\n", s.Nginx.URL("/"), body)
	}
	include, _ := os.ReadFile(s.Nginx.IncludePath)
	fmt.Printf("the include nginx reads now:\n%s\n", indent(string(include)))
	return nil
}

func printResult(res *deploy.Result) {
	from := res.Previous.String()
	if from == "" {
		from = "(nothing)"
	}
	fmt.Printf("  %s -> %s, serving %s, in %s\n", from, res.Active, res.ActiveURL, res.Elapsed.Round(time.Millisecond))
	for _, p := range res.Phases {
		fmt.Printf("    %-44s %8s\n", p.Name, p.Duration.Round(time.Millisecond))
	}
}

func get(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b))), nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	for _, l := range lines {
		fmt.Fprintln(p.w, p.prefix+l)
	}
	return len(b), nil
}

// Command bluegreen deploys a Docker Compose service with zero downtime:
// it starts the idle color, proves it healthy, switches nginx to it with a
// checked and reversible write, drains and stops the old color. It runs as
// a GitHub Action (inputs from INPUT_* variables) or directly on a host;
// package cli decides which role this process plays there, and main maps
// the outcome to the exit code.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bluegreen-action/bluegreen/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cwd, _ := os.Getwd()
	err := cli.Run(ctx, cli.Options{Environ: os.Environ(), Cwd: cwd, Stdout: os.Stdout, Stdin: os.Stdin})
	stop()
	// cli has already said what failed, where it knew the most about it.
	os.Exit(cli.ExitCode(err))
}

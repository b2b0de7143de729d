package main

import (
	"context"
	"fmt"
	"os"

	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// buildImage is the Dockerfile's build stage; its final stage is the
// binary alone on scratch, which actionImage rebuilds from the binary.
const buildImage = "golang:1.26-alpine"

// actionImage is the Dockerfile's final stage, for a binary built as its
// build stage builds it: what the runner pulls.
const actionImage = "FROM scratch\nCOPY bluegreen /bluegreen\nUSER 0:0\nENTRYPOINT [\"/bluegreen\"]\n"

// printSizes prints the size of the action's binary and of its image.
// The Dockerfile itself is built only when its build stage's image is on
// this machine (the benchmark pulls nothing); the image of its final
// stage, the binary on scratch, is built from bin either way.
func printSizes(ctx context.Context, bin string) error {
	st, err := os.Stat(bin)
	if err != nil {
		return err
	}
	fmt.Printf("action binary (CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w\"): %.1f MB (%d bytes)\n", float64(st.Size())/1e6, st.Size())
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer docker.Close()
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	buildCtx, err := throwaway.TarFiles(map[string][]byte{"Dockerfile": []byte(actionImage), "bluegreen": b})
	if err != nil {
		return err
	}
	tag := fmt.Sprintf("bluegreen-bench-image:%d", os.Getpid())
	if err := throwaway.BuildImage(ctx, docker, buildCtx, tag); err != nil {
		return err
	}
	defer throwaway.RemoveImage(context.WithoutCancel(ctx), docker, tag)
	info, err := docker.ImageInspect(ctx, tag)
	if err != nil {
		return err
	}
	fmt.Printf("action image (the Dockerfile's final stage: this binary on scratch): %.1f MB (%d bytes)\n", float64(info.Size)/1e6, info.Size)
	if _, err := docker.ImageInspect(ctx, buildImage); err != nil {
		fmt.Printf("the Dockerfile itself was not built: its build stage needs %s, which is not on this machine (the benchmark pulls nothing)\n", buildImage)
	}
	return nil
}

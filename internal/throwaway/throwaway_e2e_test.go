//go:build e2e

package throwaway_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// TestBuildBinaryImageOnceForConcurrentBuilders: builders of one tag that
// start together, as test packages running in parallel do, make one image
// between them, not one each with the tag on the last.
func TestBuildBinaryImageOnceForConcurrentBuilders(t *testing.T) {
	t.Parallel()
	docker := testenv.RequireDocker(t)
	root := testenv.RepoRoot(t)
	// A label no other build has gives this test a tag and images of its own.
	nonce := testenv.UniqueName("once")
	dockerfile := throwaway.AppDockerfile + "LABEL bluegreen.test.nonce=" + nonce + "\n"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	const builders = 3
	tags := make([]string, builders)
	errs := make([]error, builders)
	var wg sync.WaitGroup
	for i := range builders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tags[i], errs[i] = throwaway.BuildBinaryImage(ctx, docker, root, "./testdata/app", "app", dockerfile, "bgthrowaway-once")
		}()
	}
	wg.Wait()
	byNonce := filters.NewArgs(filters.Arg("label", "bluegreen.test.nonce="+nonce))
	t.Cleanup(func() {
		// Every image of this test, tagged or a twin left untagged.
		list, _ := docker.ImageList(context.Background(), image.ListOptions{All: true, Filters: byNonce})
		for _, img := range list {
			throwaway.RemoveImage(context.Background(), docker, img.ID)
		}
		throwaway.RemoveImageLock(tags[0])
	})
	for i := range builders {
		require.NoError(t, errs[i])
		require.Equal(t, tags[0], tags[i])
	}

	made, err := docker.ImageList(ctx, image.ListOptions{All: true, Filters: byNonce})
	require.NoError(t, err)
	var ids []string
	for _, img := range made {
		ids = append(ids, img.ID)
	}
	require.Len(t, ids, 1, "images made for %s: %v", tags[0], ids)
	tagged, err := docker.ImageInspect(ctx, tags[0])
	require.NoError(t, err)
	require.Equal(t, tagged.ID, ids[0])
}

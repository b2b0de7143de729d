//go:build e2e

package e2e

// The safety net (issues 18 and 21): nothing the user could roll back to
// is destroyed before the new color serves.

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/deploy"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// TestTheRollbackCopySurvivesAFailingDeploy: v1 is kept (blue, stopped)
// while v2 serves; a deploy of v3 then fails at pull, at start, at health,
// at the switch and inside the observation window. After each, blue holds
// the same containers under their own names, green still serves, and at
// the end mode: rollback brings v1 back from that very copy.
func TestTheRollbackCopySurvivesAFailingDeploy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	keep := map[string]string{"keep-previous": "true"}
	require.Equal(t, 0, f.deploy(keep, "VERSION=v1").code)
	require.Equal(t, 0, f.deploy(keep, "VERSION=v2").code)
	kept := f.containerIDs("blue")
	require.Len(t, kept, 1)
	require.Empty(t, f.running("blue"), "blue (v1) is kept, stopped")

	with := func(extra map[string]string) map[string]string {
		in := map[string]string{"keep-previous": "true"}
		for k, v := range extra {
			in[k] = v
		}
		return in
	}
	for _, fault := range []struct {
		name   string
		inputs map[string]string
		env    []string
		hold   bool // hold blue's host port, so that its container cannot start
		phase  deploy.PhaseKind
		said   string
	}{
		{name: "pull", inputs: map[string]string{"image": "bluegreen-no-such-image:v404"}, phase: deploy.PhaseStart, said: "Nothing was started."},
		{name: "start", hold: true, phase: deploy.PhaseStart, said: "was put back"},
		{name: "health", inputs: map[string]string{"health-retries": "3"}, env: []string{"HEALTH_STATUS=503"}, phase: deploy.PhaseHealth, said: "was put back"},
		{name: "switch", inputs: map[string]string{"nginx-include-template": "set $service_url {{.URL}};\nthis_is_no_directive on;\n"}, phase: deploy.PhaseSwitch, said: "was put back"},
		{name: "observe", inputs: map[string]string{"observe-seconds": "6"}, env: []string{"EXIT_AFTER=2s"}, phase: deploy.PhaseObserve, said: "was put back"},
	} {
		t.Logf("=== v3 fails at %s", fault.name)
		var holder net.Listener
		if fault.hold {
			var err error
			holder, err = net.Listen("tcp", "0.0.0.0:"+strconv.Itoa(f.bluePort))
			require.NoError(t, err)
		}
		r := f.deploy(with(fault.inputs), append([]string{"VERSION=v3"}, fault.env...)...)
		if holder != nil {
			holder.Close()
		}
		pe := r.requireFailedIn(t, fault.phase)
		require.Contains(t, pe.Undone, fault.said, fault.name)
		require.NotContains(t, r.out, "nothing to roll back to")
		require.Equal(t, kept, f.containerIDs("blue"), "%s: the kept blue's own container is back: %v", fault.name, f.all("blue"))
		for _, c := range f.all("blue") {
			require.NotContains(t, c, ".aside-", "%s: renamed back", fault.name)
		}
		require.Empty(t, f.running("blue"), "%s: the kept blue is stopped, as it was", fault.name)
		f.requireServes("v2", "green")
	}

	back := f.deploy(map[string]string{"mode": "rollback"})
	require.Equal(t, 0, back.code, back.out)
	require.Equal(t, "blue", back.outputs["active-color"])
	f.requireServes("v1", "blue")
	require.Equal(t, kept, f.containerIDs("blue"), "the rollback started the kept copy itself")
}

// TestRollbackWithoutAKeptColorUsesTheHistory: with keep-previous off,
// mode: rollback redeploys the last good deploy's recorded image.
func TestRollbackWithoutAKeptColorUsesTheHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	v1, v2 := f.imageVersion("v1"), f.imageVersion("v2")
	first := f.deploy(map[string]string{"keep-previous": "false", "image": v1})
	require.Equal(t, 0, first.code, first.out)
	require.Equal(t, 0, f.deploy(map[string]string{"keep-previous": "false", "image": v2}).code)
	require.Empty(t, f.all("blue"))
	bad := f.deploy(map[string]string{"keep-previous": "false", "image": "bluegreen-no-such-image:v404"})
	bad.requireFailedIn(t, deploy.PhaseStart)

	back := f.deploy(map[string]string{"mode": "rollback"})
	require.Equal(t, 0, back.code, back.out)
	require.Equal(t, "blue", back.outputs["active-color"])
	require.Contains(t, back.out, "redeploying the last good deploy "+first.outputs["deploy-id"])
	require.Equal(t, f.imageID(v1), f.runningImageID("blue"), "v1's image serves again")
}

// TestRetainImagesKeepsTheImageOfARollback is the reproduction:
// deploy v1, deploy v2, mode: rollback, five deploys of v2/v3 with
// retain-images: 1, and v1 (a local build) is still on the host, so that
// rollback to the first deploy works.
func TestRetainImagesKeepsTheImageOfARollback(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	v1, v2, v3 := f.imageVersion("v1"), f.imageVersion("v2"), f.imageVersion("v3")
	in := func(img, keep string) map[string]string {
		return map[string]string{"image": img, "retain-images": "1", "keep-previous": keep}
	}
	first := f.deploy(in(v1, "true"))
	require.Equal(t, 0, first.code, first.out)
	require.Equal(t, 0, f.deploy(in(v2, "true")).code)
	back := f.deploy(map[string]string{"mode": "rollback", "retain-images": "1"})
	require.Equal(t, 0, back.code, back.out)
	for i, img := range []string{v2, v3, v2, v3, v2} {
		r := f.deploy(in(img, "false"))
		require.Equal(t, 0, r.code, "deploy %d: %s", i, r.out)
	}
	_, err := f.docker.ImageInspect(context.Background(), v1)
	require.NoError(t, err, "%s is still on the host", v1)

	again := f.deploy(map[string]string{"mode": "rollback", "to": first.outputs["deploy-id"]})
	require.Equal(t, 0, again.code, again.out)
	require.Equal(t, f.imageID(v1), f.runningImageID(again.outputs["active-color"]))
}

// imageVersion builds a local image of its own (its own id, no repo
// digest, like a user's local build) from the app image, removed when the
// test ends.
func (f *fixture) imageVersion(v string) string {
	f.t.Helper()
	tag := fmt.Sprintf("%s-img:%s", f.project, v)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	df := fmt.Sprintf("FROM %s\nLABEL io.github.bluegreen-action.test-version=%s\n", f.image, v)
	require.NoError(f.t, tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(df))}))
	_, err := tw.Write([]byte(df))
	require.NoError(f.t, err)
	require.NoError(f.t, tw.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(f.t, testenv.BuildImage(ctx, f.docker, &buf, tag))
	f.t.Cleanup(func() {
		f.cleanup() // the containers first: an image in use cannot go
		_, _ = f.docker.ImageRemove(context.Background(), tag, image.RemoveOptions{PruneChildren: true})
	})
	return tag
}

func (f *fixture) imageID(ref string) string {
	f.t.Helper()
	info, err := f.docker.ImageInspect(context.Background(), ref)
	require.NoError(f.t, err)
	return info.ID
}

// runningImageID is the image id the running container of a color runs.
func (f *fixture) runningImageID(color string) string {
	f.t.Helper()
	names := f.running(color)
	require.Len(f.t, names, 1, "one running container of %s", color)
	info, err := f.docker.ContainerInspect(context.Background(), strings.TrimSpace(names[0]))
	require.NoError(f.t, err)
	return info.Image
}

// containerIDs lists the ids of every container of a color, set-aside
// ones included, sorted.
func (f *fixture) containerIDs(color string) []string {
	f.t.Helper()
	list, err := f.docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "com.docker.compose.project="+f.project+"-"+color))})
	require.NoError(f.t, err)
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	return ids
}

// TestAKilledDeployLeavesTheRollbackCopyForTheNextRun: a deploy SIGKILLed
// after it set the kept copy aside leaves it renamed; the next run puts it
// back when the new color never served (and a rollback starts it), and
// removes it when the switch happened.
func TestAKilledDeployLeavesTheRollbackCopyForTheNextRun(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	keep := map[string]string{"keep-previous": "true"}

	t.Run("before the switch", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		require.Equal(t, 0, f.deploy(keep, "VERSION=v1").code)
		require.Equal(t, 0, f.deploy(keep, "VERSION=v2").code)
		kept := f.containerIDs("blue")
		f.killAt(bin, "Health check", "VERSION=v3", "INPUT_KEEP-PREVIOUS=true", "READY_AFTER=30s")
		require.Len(t, f.containerIDs("blue"), 2, "the kept blue set aside beside the new one: %v", f.all("blue"))
		f.requireServes("v2", "green")

		back := f.deploy(map[string]string{"mode": "rollback"})
		require.Equal(t, 0, back.code, back.out)
		require.Contains(t, back.out, "set aside by a run that did not finish, was put back")
		f.requireServes("v1", "blue")
		require.Equal(t, kept, f.containerIDs("blue"), "the kept copy itself serves again")
	})

	t.Run("after the switch", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, nil)
		require.Equal(t, 0, f.deploy(keep, "VERSION=v1").code)
		require.Equal(t, 0, f.deploy(keep, "VERSION=v2").code)
		f.killAt(bin, "Drain", "VERSION=v3", "INPUT_KEEP-PREVIOUS=true")
		f.requireServes("v3", "blue")
		require.Len(t, f.containerIDs("blue"), 2, "the replaced copy is still set aside: %v", f.all("blue"))

		r := f.deploy(keep, "VERSION=v4")
		require.Equal(t, 0, r.code, r.out)
		require.Contains(t, r.out, "the kept copy is replaced and was removed")
		f.requireServes("v4", "green")
		require.Len(t, f.containerIDs("blue"), 1, "blue holds v3 only, kept: %v", f.all("blue"))
	})
}

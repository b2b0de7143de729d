//go:build e2e

package compose

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/pull"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

func TestUpVolumesAndNetworks(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	ctx := ctxTimeout(t, 2*time.Minute)
	ext := project + "-ext"
	if _, err := cli.NetworkCreate(ctx, ext, network.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), ext) })
	octet := 100 + int(project[5])%100 // a subnet per test run, unlikely to clash
	subnet := fmt.Sprintf("10.231.%d.0/24", octet)
	ip := fmt.Sprintf("10.231.%d.10", octet)
	dir := writeProject(t, map[string]string{
		"site/index.html": "hello",
		"compose.yml": fmt.Sprintf(`
services:
  api:
    image: %s
    environment: {MODE: worker}
    read_only: true
    tmpfs: [/tmp]
    volumes:
      - ./site:/site:ro
      - data:/data
      - type: tmpfs
        target: /scratch
    networks:
      back:
        ipv4_address: %s
        aliases: [api-alias]
      shared: {}
networks:
  back:
    ipam:
      config:
        - subnet: %s
  shared:
    external: true
    name: %s
volumes:
  data: {}
`, img, ip, subnet, ext),
	})
	p, err := Load(ctx, LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	if w := Warnings(p); len(w) != 0 {
		t.Errorf("Warnings = %v, want none: a named volume is no longer split by color (SplitProject)", w)
	}
	cs, err := e.Up(ctx, p)
	if err != nil {
		t.Fatalf("Up: %v", err)
	}
	info, err := cli.ContainerInspect(ctx, cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !info.HostConfig.ReadonlyRootfs {
		t.Errorf("read_only not applied")
	}
	mounts := map[string]string{}
	for _, m := range info.Mounts {
		mounts[m.Destination] = string(m.Type) + " " + m.Source + " " + m.Name + " rw=" + strconv.FormatBool(m.RW)
	}
	eq(t, "bind mount", mounts["/site"], "bind "+filepath.Join(dir, "site")+"  rw=false")
	if !strings.HasPrefix(mounts["/data"], "volume ") || !strings.Contains(mounts["/data"], project+"_data") {
		t.Errorf("/data mount = %q, want volume %s_data", mounts["/data"], project)
	}
	if _, ok := info.HostConfig.Tmpfs["/tmp"]; !ok {
		t.Errorf("tmpfs /tmp missing: %v", info.HostConfig.Tmpfs)
	}
	vol, err := cli.VolumeInspect(ctx, project+"_data")
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "volume labels", [2]string{vol.Labels[LabelVolume], vol.Labels[LabelProject]}, [2]string{"data", project})
	back := info.NetworkSettings.Networks[project+"_back"]
	if back == nil || back.IPAddress != ip || !slices.Contains(back.Aliases, "api-alias") || !slices.Contains(back.Aliases, "api") {
		t.Errorf("endpoint on %s_back = %+v, want %s with aliases api, api-alias", project, back, ip)
	}
	if shared := info.NetworkSettings.Networks[ext]; shared == nil || !slices.Contains(shared.Aliases, "api") {
		t.Errorf("not connected to the external network %s with alias api: %+v", ext, shared)
	}

	if err := e.Down(ctx, project, nil); err != nil {
		t.Fatalf("Down: %v", err)
	}
	if _, err := cli.NetworkInspect(ctx, project+"_back", network.InspectOptions{}); !cerrdefs.IsNotFound(err) {
		t.Errorf("project network survived Down: %v", err)
	}
	if _, err := cli.NetworkInspect(ctx, ext, network.InspectOptions{}); err != nil {
		t.Errorf("Down removed the external network: %v", err)
	}
	if _, err := cli.VolumeInspect(ctx, project+"_data"); err != nil {
		t.Errorf("Down removed the volume: %v", err)
	}
}

func TestUpRefusesNetworkOfAnotherProject(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	project := newProjectName(t)
	e, cli := newEngine(t, project)
	ctx := ctxTimeout(t, time.Minute)
	name := project + "_default"
	if _, err := cli.NetworkCreate(ctx, name, network.CreateOptions{Labels: map[string]string{LabelProject: "someone-else"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), name) })
	dir := writeProject(t, map[string]string{"compose.yml": "services:\n  web:\n    image: " + img + "\n"})
	p, err := Load(ctx, LoadOptions{ProjectName: project, Files: []string{filepath.Join(dir, "compose.yml")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Up(ctx, p); !errors.Is(err, ErrNameInUse) || !strings.Contains(err.Error(), "external: true") {
		t.Errorf("Up = %v, want ErrNameInUse suggesting external: true", err)
	}
}

func TestEnsureImages(t *testing.T) {
	t.Parallel()
	img := testImage(t)
	e := &Engine{Docker: testenv.RequireDocker(t)}
	missing := "127.0.0.1:1/bgtc-missing/app:1" // nothing listens there: fails fast
	load := func(image, pullPolicy string) *types.Project {
		yaml := "services:\n  web:\n    image: " + image + "\n"
		if pullPolicy != "" {
			yaml += "    pull_policy: " + pullPolicy + "\n"
		}
		return loadYAML(t, yaml)
	}
	tests := []struct {
		name    string
		p       *types.Project
		policy  pull.Policy
		is      error
		mention []string
	}{
		{"present, missing", load(img, ""), pull.Missing, nil, nil},
		{"present, never", load(img, ""), pull.Never, nil, nil},
		{"absent, never", load(missing, ""), pull.Never, ErrImageMissing, []string{"service web", missing, "pull policy is never"}},
		{"absent, missing", load(missing, ""), pull.Missing, ErrPullFailed, []string{"service web", missing, "registry"}},
		{"absent, service pull_policy never", load(missing, "never"), "", ErrImageMissing, []string{"service web"}},
		{"present, always", load(img, ""), pull.Always, ErrPullFailed, []string{img}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := e.EnsureImages(ctxTimeout(t, time.Minute), tc.p, tc.policy, Credentials{})
			if tc.is == nil {
				if err != nil {
					t.Fatalf("EnsureImages = %v", err)
				}
				return
			}
			if !errors.Is(err, tc.is) {
				t.Fatalf("EnsureImages = %v, want %v", err, tc.is)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

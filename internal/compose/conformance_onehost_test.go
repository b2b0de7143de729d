package compose

// Conformance for the keys issue 10 maps (security_opt, namespaces,
// links, volumes_from, cgroup and CPU tuning, builds, replicas): the
// fields they set are added to the compared view, and the projects that
// docker-compose v1 cannot read are told apart from those it can.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// Kinds of conformance projects, told by a marker file in the directory.
const (
	// kindV1 projects are created by docker-compose v1 and by Up and
	// compared (TestConformanceWithDockerComposeV1).
	kindV1 = "v1"
	// kindV2 projects use what v1 cannot read; v2-expected.json holds a
	// hand-checked account of what docker compose v2 creates
	// (TestConformanceV2Expectations).
	kindV2 = "v2"
	// kindRefused projects are refused by Check; refused.golden holds the
	// message (TestRefusedProjects).
	kindRefused = "refused"
)

// conformanceKind tells what kind of project dir holds.
func conformanceKind(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "refused.golden")); err == nil {
		return kindRefused
	}
	if _, err := os.Stat(filepath.Join(dir, "v2-expected.json")); err == nil {
		return kindV2
	}
	return kindV1
}

// containerKey names a container in a project's view: its service, and
// for replicas after the first, its number too.
func containerKey(labels map[string]string) string {
	if n := labels[LabelContainerNumber]; n != "" && n != "1" {
		return labels[LabelService] + "#" + n
	}
	return labels[LabelService]
}

// shortIDRE is a short container id, which Docker makes the hostname of a
// container without hostname:, and of one that joins another's network.
var shortIDRE = regexp.MustCompile(`^[0-9a-f]{12}$`)

// containerIDRE finds a full container id, which differs between any two
// creations; references to another container (volumes_from,
// network_mode, ipc and pid container:<id>) are compared by form.
var containerIDRE = regexp.MustCompile(`\b[0-9a-f]{64}\b`)

func withoutIDs(s string) string { return containerIDRE.ReplaceAllString(s, "<container id>") }

// addOneHostFields adds to a container's view the settings of the keys
// issue 10 maps, so that both tools' values for them are compared too.
func addOneHostFields(v map[string]any, info container.InspectResponse) {
	hc := info.HostConfig
	var from []string
	for _, f := range hc.VolumesFrom {
		from = append(from, withoutIDs(f))
	}
	endpointLinks := map[string][]string{}
	for name, ep := range info.NetworkSettings.Networks {
		if len(ep.Links) > 0 {
			links := append([]string(nil), ep.Links...)
			sort.Strings(links)
			endpointLinks[name] = links
		}
	}
	links := append([]string(nil), hc.Links...)
	sort.Strings(links)
	if h, ok := v["Hostname"].(string); ok && shortIDRE.MatchString(h) {
		v["Hostname"] = "<container id>"
	}
	v["NetworkMode"] = withoutIDs(string(hc.NetworkMode))
	v["VolumesFrom"] = from
	v["Links"] = links
	v["EndpointLinks"] = endpointLinks
	v["IpcMode"] = withoutIDs(string(hc.IpcMode))
	v["PidMode"] = withoutIDs(string(hc.PidMode))
	v["UTSMode"] = string(hc.UTSMode)
	v["UsernsMode"] = string(hc.UsernsMode)
	v["CgroupnsMode"] = string(hc.CgroupnsMode)
	v["SecurityOpt"] = hc.SecurityOpt
	v["Runtime"] = hc.Runtime
	v["StorageOpt"] = hc.StorageOpt
	v["CgroupParent"] = hc.CgroupParent
	v["CpuPeriod"] = hc.CPUPeriod
	v["CpuQuota"] = hc.CPUQuota
	v["CpuRealtimePeriod"] = hc.CPURealtimePeriod
	v["CpuRealtimeRuntime"] = hc.CPURealtimeRuntime
	v["MemorySwappiness"] = hc.MemorySwappiness
	v["OomKillDisable"] = hc.OomKillDisable
	v["DeviceCgroupRules"] = hc.DeviceCgroupRules
	v["DeviceRequests"] = hc.DeviceRequests
	v["BlkioWeight"] = hc.BlkioWeight
	v["BlkioDeviceReadBps"] = hc.BlkioDeviceReadBps
	v["BlkioDeviceWriteBps"] = hc.BlkioDeviceWriteBps
	if builtImage(info.Config.Image, info.Config.Labels[LabelProject], info.Config.Labels[LabelService]) {
		// Each tool builds an image of its own (ours carries compose's image
		// labels), so its id differs; what it runs is compared field by field.
		v["ImageID"] = "<built by each tool>"
	}
}

// builtImage reports the name either tool gives the image of a service
// that has build: and no image: (<project>-<service> or v1's
// <project>_<service>, with any tag).
func builtImage(ref, project, service string) bool {
	repo, _, _ := strings.Cut(ref, ":")
	return project != "" && (repo == defaultImageName(project, service) || repo == strings.ToLower(project+"_"+service))
}

// ensureConformanceImages builds or pulls the project's images as a deploy
// does, and removes the images either tool built for it when the test
// ends, after the project's containers (an image in use is only untagged).
func ensureConformanceImages(t *testing.T, cli *client.Client, e *Engine, p *types.Project) {
	t.Helper()
	names := map[string]bool{}
	for name, s := range p.Services {
		if s.Build != nil {
			names[defaultImageName(p.Name, name)] = true
			names[strings.ToLower(p.Name+"_"+name)] = true
			if s.Image != "" {
				names[s.Image] = true
			}
		}
	}
	t.Cleanup(func() {
		throwaway.RemoveProject(cli, p.Name)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for name := range names {
			_, _ = cli.ImageRemove(ctx, name, image.RemoveOptions{Force: true, PruneChildren: true})
		}
		list, _ := cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelProject+"="+p.Name))})
		for _, img := range list {
			_, _ = cli.ImageRemove(ctx, img.ID, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.EnsureImages(ctx, p, "", Credentials{}); err != nil {
		t.Fatalf("EnsureImages: %v", err)
	}
}

// conformanceDirs lists the project directories of one kind.
func conformanceDirs(t *testing.T, root, kind string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && conformanceKind(filepath.Join(root, e.Name())) == kind {
			dirs = append(dirs, e.Name())
		}
	}
	sort.Strings(dirs)
	return dirs
}

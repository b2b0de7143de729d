package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// The labels docker compose (v2, and v1 for the identity ones) puts on what
// it creates. Keeping them identical is what makes `docker compose -p
// app-green ps/logs/down` work on our containers and lets us find theirs.
const (
	LabelProject         = "com.docker.compose.project"
	LabelService         = "com.docker.compose.service"
	LabelContainerNumber = "com.docker.compose.container-number"
	LabelOneoff          = "com.docker.compose.oneoff"
	LabelConfigHash      = "com.docker.compose.config-hash"
	LabelWorkingDir      = "com.docker.compose.project.working_dir"
	LabelConfigFiles     = "com.docker.compose.project.config_files"
	LabelEnvironmentFile = "com.docker.compose.project.environment_file"
	LabelVersion         = "com.docker.compose.version"
	LabelDependsOn       = "com.docker.compose.depends_on"
	LabelImage           = "com.docker.compose.image"
	LabelNetwork         = "com.docker.compose.network"
	LabelVolume          = "com.docker.compose.volume"
	// LabelDeployID is bluegreen's own: the deploy that created the
	// container, so a staged color can be matched to its stage run.
	LabelDeployID = "io.github.bluegreen-action.deploy-id"
	// LabelStaged marks a container that mode stage created: mode abort
	// removes only such containers, never a kept previous color. It is
	// set outside the service's definition (CustomLabels), so that it
	// changes no config hash.
	LabelStaged = "io.github.bluegreen-action.staged"
)

// ComposeVersion is the value of com.docker.compose.version on what we
// create. docker compose writes its own release there and no compose
// command acts on it; we write the docker compose release whose create
// behaviour this package follows, so the label reads as what it is.
const ComposeVersion = "2.29.7"

// containerName is the name docker compose v2 gives container number n of
// a service (1 for the first): container_name if set (Check allows it on
// a service of one container only), else <project>-<service>-<n>.
func containerName(project string, s types.ServiceConfig, n int) string {
	if s.ContainerName != "" {
		return s.ContainerName
	}
	return fmt.Sprintf("%s-%s-%d", project, s.Name, n)
}

// configHash computes com.docker.compose.config-hash the way docker compose
// does: a SHA-256 of the service's JSON, leaving out what does not change
// the container (build, pull policy, scale, depends_on, profiles). docker
// compose up compares it to decide whether to recreate a container.
func configHash(s types.ServiceConfig) (string, error) {
	s.Build = nil
	s.PullPolicy = ""
	s.Scale = nil
	if s.Deploy != nil {
		d := *s.Deploy
		d.Replicas = nil
		s.Deploy = &d
	}
	s.DependsOn = nil
	s.Profiles = nil
	data, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("failed to hash the configuration of service %s: %w", s.Name, err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// dependsOnLabel renders com.docker.compose.depends_on as docker compose
// does ("service:condition:restart", comma separated), sorted so that the
// same project always gives the same label. Stop reads it back to stop
// dependents before their dependencies.
func dependsOnLabel(s types.ServiceConfig) string {
	deps := make([]string, 0, len(s.DependsOn))
	for name, d := range s.DependsOn {
		deps = append(deps, fmt.Sprintf("%s:%s:%t", name, d.Condition, d.Restart))
	}
	sort.Strings(deps)
	return strings.Join(deps, ",")
}

// parseDependsOnLabel returns the service names in a depends_on label.
func parseDependsOnLabel(v string) []string {
	var names []string
	for _, part := range strings.Split(v, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), ":")
		if name != "" {
			names = append(names, name)
		}
	}
	return names
}

// containerLabels returns every label of a service's container: the user's
// labels, then the compose identity labels (which win, as in compose), then
// the per-container ones.
func containerLabels(p *types.Project, s types.ServiceConfig, number int, imageID string) (map[string]string, error) {
	hash, err := configHash(s)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	// Defaults for a project that did not come from Load.
	labels[LabelWorkingDir] = p.WorkingDir
	labels[LabelConfigFiles] = strings.Join(p.ComposeFiles, ",")
	labels[LabelVersion] = ComposeVersion
	for k, v := range s.CustomLabels {
		labels[k] = v
	}
	labels[LabelProject] = p.Name
	labels[LabelService] = s.Name
	labels[LabelOneoff] = "False"
	labels[LabelContainerNumber] = strconv.Itoa(number)
	labels[LabelConfigHash] = hash
	labels[LabelDependsOn] = dependsOnLabel(s)
	if imageID != "" {
		labels[LabelImage] = imageID
	}
	return labels, nil
}

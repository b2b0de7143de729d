package hosthelper

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Mount is one mount of the action container: the host's Source appears
// at Destination inside the container.
type Mount struct {
	Type        string // "bind" or "volume"
	Name        string // the volume's name, for a volume
	Source      string // a host path; for a volume, its directory on the host
	Destination string
}

// HostPaths turns paths as the action container sees them into host
// paths. A path under one of the container's mounts is the mount's source
// plus the rest; any other path lives in the container's own file system
// and has no host path.
type HostPaths struct {
	mounts []Mount // longest destination first
}

// NewHostPaths indexes the action container's mounts.
func NewHostPaths(mounts []Mount) *HostPaths {
	ms := make([]Mount, 0, len(mounts))
	for _, m := range mounts {
		if m.Source == "" || !path.IsAbs(m.Destination) || path.Clean(m.Destination) == "/" {
			continue
		}
		m.Destination = path.Clean(m.Destination)
		ms = append(ms, m)
	}
	sort.SliceStable(ms, func(i, j int) bool { return len(ms[i].Destination) > len(ms[j].Destination) })
	return &HostPaths{mounts: ms}
}

// Host returns the host path of p, an absolute path inside the action
// container, and the mount it lies on; ok is false when no mount holds p.
func (h *HostPaths) Host(p string) (host string, m Mount, ok bool) {
	if !path.IsAbs(p) {
		return "", Mount{}, false
	}
	p = path.Clean(p)
	for _, m := range h.mounts {
		if p == m.Destination {
			return m.Source, m, true
		}
		if rest, found := strings.CutPrefix(p, m.Destination+"/"); found {
			return path.Join(m.Source, rest), m, true
		}
	}
	return "", Mount{}, false
}

// translate rewrites every item of an environment value that is an
// absolute path under a mount to its host path, the way the runner itself
// translates host paths to container paths when it starts the action.
// Items are separated by newlines or commas, as list inputs are
// (compose-file: "a.yml,b.yml"); anything that is not a single absolute
// path (a URL, a template, a command) is left as it is.
func (h *HostPaths) translate(v string) string {
	if !strings.Contains(v, "/") {
		return v
	}
	var b strings.Builder
	item := func(s string) {
		t := strings.TrimSpace(s)
		if t == "" || !strings.HasPrefix(t, "/") || strings.ContainsAny(t, " \t") {
			b.WriteString(s)
			return
		}
		host, _, ok := h.Host(t)
		if !ok {
			b.WriteString(s)
			return
		}
		i := strings.Index(s, t)
		b.WriteString(s[:i] + host + s[i+len(t):])
	}
	start := 0
	for i, r := range v {
		if r == '\n' || r == ',' {
			item(v[start:i])
			b.WriteRune(r)
			start = i + 1
		}
	}
	item(v[start:])
	return b.String()
}

// mustMap are the variables the deploy reads or writes as files. Without a
// host path for each, the helper would write outputs and the summary into
// nowhere, so a missing one is an error rather than a silent loss.
var mustMap = []string{"GITHUB_WORKSPACE", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"}

// helperEnv splits what the helper gets. settings is its container's Env:
// only its role, the host's root, its working directory on the host, the
// launcher's id and the host's PATH, nothing a `docker inspect` must not
// show. handed is the deploy's environment, for the handover on stdin:
// the variables Forwarded lets through, every path under a mount turned
// into its host path, DOCKER_HOST pointing at the host's socket. cwd is
// the launcher's working directory; hostCwd is its host path.
func (h *HostPaths) helperEnv(env map[string]string, cwd, parentID string) (settings []string, handed map[string]string, hostCwd string, err error) {
	var problems []string
	for _, k := range mustMap {
		if v := env[k]; v != "" {
			if _, _, ok := h.Host(v); !ok {
				problems = append(problems, fmt.Sprintf("%s=%s is not on a directory the runner mounted into the action container", k, v))
			}
		}
	}
	if env["GITHUB_WORKSPACE"] == "" {
		problems = append(problems, "GITHUB_WORKSPACE is not set")
	}
	if len(problems) > 0 {
		return nil, nil, "", fmt.Errorf("failed to map the runner's directories to host paths: %s", strings.Join(problems, "; "))
	}

	handed = make(map[string]string, len(env))
	for k, v := range env {
		if Forwarded(k) {
			handed[k] = h.translate(v)
		}
	}
	handed["DOCKER_HOST"] = h.dockerHost(env["DOCKER_HOST"])

	hostCwd, _, ok := h.Host(cwd)
	if !ok {
		hostCwd, _, _ = h.Host(env["GITHUB_WORKSPACE"])
	}
	settings = HelperSettings(hostCwd, parentID)
	return settings, handed, hostCwd, nil
}

// HelperSettings is the whole Env of a helper container: its role, where
// the host's root is mounted, its working directory on the host, the
// container that started it (empty when a remote runner did), and the
// host's PATH. Nothing else belongs there; see Handover.
func HelperSettings(hostCwd, parentID string) []string {
	out := []string{
		"PATH=" + hostPATH,
		EnvRole + "=" + roleHelper,
		EnvRoot + "=" + hostMount,
		EnvCwd + "=" + hostCwd,
	}
	if parentID != "" {
		out = append(out, EnvParent+"="+parentID)
	}
	return out
}

// dockerHost is the launcher's Docker endpoint as the host names it: a
// Unix socket mounted into the container is the socket's host path.
func (h *HostPaths) dockerHost(v string) string {
	if v == "" {
		v = "unix:///var/run/docker.sock"
	}
	if sock, ok := strings.CutPrefix(v, "unix://"); ok {
		if host, _, ok := h.Host(sock); ok {
			return "unix://" + host
		}
	}
	return v
}

package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	dockerbuild "github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/registry"

	"github.com/bluegreen-action/bluegreen/internal/build"
	"github.com/bluegreen-action/bluegreen/internal/pull"
)

// Building on the deploying host. The builder is the Docker Engine API's
// own (POST /build), the classic builder: it is in every Docker engine,
// needs no buildx, no BuildKit session and no registry, and it is what
// docker compose v2 itself uses when BuildKit is off (its
// build_classic.go). Dockerfile features that only BuildKit has (RUN
// --mount, heredocs, COPY --link/--chmod, # syntax= frontends) fail the
// build with the builder's own message; Check refuses the build keys that
// need BuildKit before anything runs.

// ErrBuildFailed is returned when an image build fails.
var ErrBuildFailed = errors.New("image build failed")

// Progress is where the engine reports its long steps. An image build's
// output is untrusted text and is written to a Stream, which must clean
// every line it prints; *report.Reporter implements Progress.
type Progress interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Stream(title string) io.WriteCloser
}

type nopProgress struct{}

func (nopProgress) Infof(string, ...any)         {}
func (nopProgress) Warnf(string, ...any)         {}
func (nopProgress) Stream(string) io.WriteCloser { return nopCloser{io.Discard} }

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (e *Engine) progress() Progress {
	if e.Progress == nil {
		return nopProgress{}
	}
	return e.Progress
}

// LabelImageBuilder is the label docker compose v2 puts on images it
// builds, naming the builder; the images also carry the project and
// service labels, which is how old per-deploy builds are found.
const LabelImageBuilder = "com.docker.compose.image.builder"

// TagBuilds names the image of every service that has build: and no
// image: <project>-<service>:<tag>, the name docker compose gives it plus
// a tag; the deploy passes its deploy id, so that every deploy builds a
// fresh image and earlier deploys keep theirs, for a rollback. Call it
// right after Load.
func TagBuilds(p *types.Project, tag string) {
	for name, s := range p.Services {
		if s.Build != nil && s.Image == "" {
			s.Image = defaultImageName(p.Name, name) + ":" + tag
			p.Services[name] = s
		}
	}
}

// defaultImageName is docker compose's name for the image of a service
// that has build: and no image:.
func defaultImageName(project, service string) string {
	return strings.ToLower(project + "-" + service)
}

// imageOf is the image a service runs: image:, or docker compose's default
// name when it only has build: (and TagBuilds was not called).
func imageOf(p *types.Project, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return defaultImageName(p.Name, s.Name)
}

// generatedImage reports a service whose image name is ours to make: it
// has build: and its image is <project>-<service>[:tag]. Such an image
// is never pulled; it is built.
func generatedImage(p *types.Project, s types.ServiceConfig) bool {
	if s.Build == nil {
		return false
	}
	img := imageOf(p, s)
	repo, _, _ := strings.Cut(img, ":")
	return repo == defaultImageName(p.Name, s.Name)
}

// ensureBuilt makes sure the image of a service that has build: is there,
// as docker compose up does: build when the build policy or pull_policy
// build says so, or when the image is missing and cannot be pulled (an
// image name made for the build is never pulled).
func (e *Engine) ensureBuilt(ctx context.Context, p *types.Project, s types.ServiceConfig, policy pull.Policy, auth Credentials) error {
	ref := imageOf(p, s)
	if pinnedImage(ref) {
		// A rollback to a recorded deploy names the image it ran by id or
		// digest: that image, not a new build.
		return e.ensureImage(ctx, s.Name, ref, policy, auth.For(ref))
	}
	if e.Build == build.Always || s.PullPolicy == types.PullPolicyBuild {
		return e.buildImage(ctx, p, s, auth)
	}
	present, err := e.imagePresent(ctx, s.Name, ref)
	if err != nil {
		return err
	}
	if generatedImage(p, s) {
		if present {
			return nil
		}
		return e.buildImage(ctx, p, s, auth)
	}
	if present && policy != pull.Always {
		return nil
	}
	if policy != pull.Never {
		err := e.pull(ctx, ref, auth.For(ref))
		if err == nil {
			return nil
		}
		if present {
			e.progress().Warnf("service %s: pulling %s failed (%v); using the local image, as docker compose does", s.Name, ref, err)
			return nil
		}
		e.progress().Infof("service %s: pulling %s failed (%v); building it from build:, as docker compose does", s.Name, ref, err)
	}
	return e.buildImage(ctx, p, s, auth)
}

// pinnedImage reports an image named by id or digest.
func pinnedImage(ref string) bool {
	return strings.HasPrefix(ref, "sha256:") || strings.Contains(ref, "@sha256:")
}

func (e *Engine) imagePresent(ctx context.Context, service, ref string) (bool, error) {
	_, err := e.Docker.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("failed to inspect image %s of service %s: %w", ref, service, err)
}

// buildImage builds a service's image with the classic builder, streaming
// the builder's output to the Progress. Images of earlier deploys are the
// deploy's to remove (retain-images keeps those a rollback may need).
func (e *Engine) buildImage(ctx context.Context, p *types.Project, s types.ServiceConfig, auth Credentials) error {
	ref := imageOf(p, s)
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return fmt.Errorf("failed to build service %s: %q is not a valid image name (%v): set image: to name the build", s.Name, ref, err)
	}
	opts, err := buildOptions(p, s, ref, auth)
	if err != nil {
		return err
	}
	var body io.ReadCloser
	var sent atomic.Int64
	if !isRemoteContext(s.Build.Context) {
		dockerfile, inline, err := dockerfileOf(s)
		if err != nil {
			return err
		}
		opts.Dockerfile = dockerfile
		if body, err = contextTar(s.Build.Context, dockerfile, inline, &sent); err != nil {
			return fmt.Errorf("failed to build service %s: %w", s.Name, err)
		}
		defer body.Close()
	}
	start := time.Now()
	out := e.progress().Stream(fmt.Sprintf("Build %s (service %s)", ref, s.Name))
	id, err := e.runBuild(ctx, body, opts, out)
	_ = out.Close()
	if err != nil {
		return fmt.Errorf("failed to build image %s of service %s: %w", ref, s.Name, err)
	}
	e.progress().Infof("built %s (%s) for service %s in %s from a %s build context", ref, shortID(id), s.Name, time.Since(start).Round(100*time.Millisecond), humanBytes(sent.Load()))
	return nil
}

// buildOptions maps build: onto the classic builder's options as docker
// compose's imageBuildOptions does, adding shm_size, cache_from, ulimits
// and a single platform, which the classic builder takes too.
func buildOptions(p *types.Project, s types.ServiceConfig, ref string, auth Credentials) (dockerbuild.ImageBuildOptions, error) {
	b := s.Build
	labels := map[string]string{}
	for k, v := range b.Labels {
		labels[k] = v
	}
	labels[LabelProject] = p.Name
	labels[LabelService] = s.Name
	labels[LabelVersion] = ComposeVersion
	labels[LabelImageBuilder] = "classic"
	opts := dockerbuild.ImageBuildOptions{
		Version:     dockerbuild.BuilderV1,
		Tags:        append([]string{ref}, b.Tags...),
		Remove:      true,
		ForceRemove: true,
		NoCache:     b.NoCache,
		PullParent:  b.Pull,
		BuildArgs:   map[string]*string(b.Args),
		Labels:      labels,
		Target:      b.Target,
		NetworkMode: b.Network,
		ExtraHosts:  b.ExtraHosts.AsList(":"),
		ShmSize:     int64(b.ShmSize),
		CacheFrom:   b.CacheFrom,
		Ulimits:     ulimits(b.Ulimits),
	}
	if len(b.Platforms) == 1 {
		opts.Platform = b.Platforms[0]
	}
	if isRemoteContext(b.Context) {
		opts.RemoteContext = b.Context
		opts.Dockerfile = b.Dockerfile
		if b.DockerfileInline != "" {
			return opts, fmt.Errorf("failed to build service %s: dockerfile_inline cannot go with the remote context %s: the classic builder reads the Dockerfile from the repository", s.Name, b.Context)
		}
	}
	if auth.Auth != "" {
		cfg, err := registry.DecodeAuthConfig(auth.Auth)
		if err != nil {
			return opts, fmt.Errorf("failed to read the registry credentials: %w", err)
		}
		// The builder looks the FROM image's registry up in this map, so
		// the login only goes to its own registry.
		key := RegistryDomain(auth.Registry)
		if key == dockerHub {
			key = "https://index.docker.io/v1/"
		}
		opts.AuthConfigs = map[string]registry.AuthConfig{key: *cfg}
	}
	return opts, nil
}

// dockerfileOf returns the Dockerfile's name inside the context tar and,
// for dockerfile_inline or a Dockerfile outside the context, its content
// to add under that name.
func dockerfileOf(s types.ServiceConfig) (string, []byte, error) {
	b := s.Build
	if b.DockerfileInline != "" {
		return inlineDockerfile, []byte(b.DockerfileInline), nil
	}
	df := dockerfilePath(b)
	st, err := os.Stat(df)
	if err != nil || !st.Mode().IsRegular() {
		return "", nil, fmt.Errorf("failed to build service %s: cannot find the Dockerfile %s (build.dockerfile, relative to build.context %s)", s.Name, df, b.Context)
	}
	rel, err := filepath.Rel(b.Context, df)
	if err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel), nil, nil
	}
	content, err := readSmallFile(df, MaxFileSize)
	if err != nil {
		return "", nil, fmt.Errorf("failed to build service %s: %w", s.Name, err)
	}
	return inlineDockerfile, content, nil
}

// isRemoteContext recognises a git or HTTP build context, which the
// builder fetches itself, the way compose-go does.
func isRemoteContext(c string) bool {
	for _, prefix := range []string{"https://", "http://", "git://", "ssh://", "github.com/", "git@"} {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

// buildMessage is one line of the builder's JSON stream.
type buildMessage struct {
	Stream      string                   `json:"stream"`
	Status      string                   `json:"status"`
	ID          string                   `json:"id"`
	Progress    string                   `json:"progress"`
	Error       string                   `json:"error"`
	ErrorDetail struct{ Message string } `json:"errorDetail"`
	Aux         json.RawMessage          `json:"aux"`
}

// maxBuildError caps the builder's error message in our error.
const maxBuildError = 2000

// runBuild sends the build and copies its output to out; it returns the
// image id, or the builder's error.
func (e *Engine) runBuild(ctx context.Context, body io.Reader, opts dockerbuild.ImageBuildOptions, out io.Writer) (string, error) {
	resp, err := e.Docker.ImageBuild(ctx, body, opts)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBuildFailed, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	id := ""
	for {
		var m buildMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", fmt.Errorf("%w: reading the builder's output: %w", ErrBuildFailed, err)
		}
		switch {
		case m.ErrorDetail.Message != "" || m.Error != "":
			msg := m.ErrorDetail.Message
			if msg == "" {
				msg = m.Error
			}
			return "", fmt.Errorf("%w: %s%s", ErrBuildFailed, safeBuildError(msg), buildKitHint(msg))
		case m.Stream != "":
			_, _ = io.WriteString(out, m.Stream)
		case m.Status != "" && m.Progress == "":
			_, _ = fmt.Fprintf(out, "%s %s\n", m.Status, m.ID)
		case len(m.Aux) > 0:
			var aux struct{ ID string }
			if json.Unmarshal(m.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
	}
	if id == "" {
		return "", fmt.Errorf("%w: the builder ended without naming the image it built", ErrBuildFailed)
	}
	return id, nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

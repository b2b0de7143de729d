package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"

	"github.com/bluegreen-action/bluegreen/internal/build"
	"github.com/bluegreen-action/bluegreen/internal/pull"
)

var (
	// ErrImageMissing is returned for an image that is not present locally
	// and may not be pulled.
	ErrImageMissing = errors.New("image not present locally")
	// ErrPullFailed is returned when the registry did not deliver an image.
	ErrPullFailed = errors.New("image pull failed")
)

// EnsureImages makes sure every service's image is present locally,
// building or pulling it. Services that have build: come first, built as
// docker compose up builds them under the Engine's Build policy (see
// ensureBuilt); a failed build fails here, before anything starts. The
// others are pulled per policy; an empty policy lets each service's
// pull_policy decide (default missing), as docker compose does without
// --pull. creds are sent only with pulls from their own registry (see
// Credentials.For), and to the builder for base images from that registry;
// they travel in a header, never on a command line. A service with only
// build: and no image: gets docker compose's image name,
// <project>-<service>, unless TagBuilds named it.
func (e *Engine) EnsureImages(ctx context.Context, p *types.Project, policy pull.Policy, creds Credentials) error {
	for name, s := range p.Services {
		if s.Image == "" && s.Build != nil {
			s.Image = imageOf(p, s)
			p.Services[name] = s
		}
	}
	done := map[string]bool{}
	names := p.ServiceNames()
	sort.SliceStable(names, func(i, j int) bool {
		return p.Services[names[i]].Build != nil && p.Services[names[j]].Build == nil
	})
	for _, name := range names {
		s := p.Services[name]
		if done[s.Image] {
			continue
		}
		pol, err := servicePolicy(s, policy)
		if err != nil {
			return err
		}
		switch {
		case s.Build != nil && e.Build != build.Never:
			err = e.ensureBuilt(ctx, p, s, pol, creds)
		case generatedImage(p, s):
			err = fmt.Errorf("failed to find image %s of service %s: %w: the service has build: and no image:, and the build input is never: allow building (build: auto) or set image: to an image that can be pulled", s.Image, name, ErrImageMissing)
			if present, perr := e.imagePresent(ctx, name, s.Image); perr != nil || present {
				err = perr
			}
		default:
			err = e.ensureImage(ctx, name, s.Image, pol, creds.For(s.Image))
		}
		if err != nil {
			return err
		}
		done[s.Image] = true
	}
	return nil
}

func servicePolicy(s types.ServiceConfig, policy pull.Policy) (pull.Policy, error) {
	if policy != "" {
		return pull.Parse(string(policy))
	}
	if s.PullPolicy == types.PullPolicyBuild {
		return pull.Never, nil // ensureBuilt builds it every time
	}
	pol, err := pull.Parse(s.PullPolicy)
	if err != nil {
		return "", fmt.Errorf("failed to read pull_policy of service %s: %w", s.Name, err)
	}
	return pol, nil
}

func (e *Engine) ensureImage(ctx context.Context, service, ref string, policy pull.Policy, registryAuth string) error {
	if policy != pull.Always {
		_, err := e.Docker.ImageInspect(ctx, ref)
		if err == nil {
			return nil
		}
		if !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("failed to inspect image %s of service %s: %w", ref, service, err)
		}
		if policy == pull.Never {
			return fmt.Errorf("failed to find image %s of service %s: %w and the pull policy is never: build or load it in an earlier step, or allow pulling", ref, service, ErrImageMissing)
		}
	}
	if err := e.pull(ctx, ref, registryAuth); err != nil {
		return fmt.Errorf("failed to pull image %s of service %s: %w; check the image name and tag, that the registry is reachable from the host, and the registry credentials", ref, service, err)
	}
	return nil
}

// pull pulls one image and reads the progress stream to its end, because
// the engine reports a failed pull inside the stream, not in the status.
func (e *Engine) pull(ctx context.Context, ref, registryAuth string) error {
	rc, err := e.Docker.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: registryAuth})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPullFailed, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%w: reading the pull progress: %w", ErrPullFailed, err)
		}
		if msg.ErrorDetail.Message != "" {
			return fmt.Errorf("%w: %s", ErrPullFailed, msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return fmt.Errorf("%w: %s", ErrPullFailed, msg.Error)
		}
	}
}

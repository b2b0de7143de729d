package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/compose-spec/compose-go/v2/types"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"

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
// pulling per policy. An empty policy lets each service's pull_policy
// decide (default missing), as docker compose does without --pull.
// creds are sent only with pulls from their own registry (see
// Credentials.For); they travel in a header, never on a command line.
func (e *Engine) EnsureImages(ctx context.Context, p *types.Project, policy pull.Policy, creds Credentials) error {
	pulled := map[string]bool{}
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		pol, err := servicePolicy(s, policy)
		if err != nil {
			return err
		}
		if pulled[s.Image] {
			continue
		}
		if err := e.ensureImage(ctx, name, s.Image, pol, creds.For(s.Image)); err != nil {
			return err
		}
		pulled[s.Image] = pol == pull.Always
	}
	return nil
}

func servicePolicy(s types.ServiceConfig, policy pull.Policy) (pull.Policy, error) {
	if policy != "" {
		return pull.Parse(string(policy))
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

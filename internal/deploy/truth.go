package deploy

// The outputs say what serves, checked once the run is over: the color
// nginx serves, the image its traffic container runs (as the user wrote
// it, never a bare image id), that image's digest, and the deploy that
// made it, in every mode and after a failure too.

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/distribution/reference"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/config"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// settleTimeout bounds the Docker calls that read what serves: a daemon
// that stopped answering must not hold the run's end.
const settleTimeout = 10 * time.Second

// settle fills the Result's view of what serves after the run ends with
// err: the active color (the live one when the run failed before nginx
// served anything new), the image and digest of its traffic container,
// and the serving deploy's id; in mode stage also the staged image.
func (r *run) settle(ctx context.Context, err error) {
	res := r.res
	if res.Active == color.None && err != nil && r.live.Color != color.None && !r.switched() {
		// Nothing of this run ever served: the live color still does.
		res.Active = r.live.Color
	}
	if res.Active != color.None && res.ActiveURL == "" {
		r.fillActive(res.Active)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	res.servingSet = true
	if res.Active == color.None {
		res.Image, res.ImageDigest, res.ServingDeployID = "", "", ""
		return
	}
	traffic, found, lerr := r.runningTraffic(ctx, res.Active)
	switch {
	case found:
		res.Image, res.ImageDigest = r.imageOf(ctx, traffic)
	case lerr == nil || res.Active != r.target || !r.switched():
		// Nothing of the traffic service runs (nothing is its image), or
		// Docker could not be asked about a color this run did not just
		// put in service: no image is named rather than a guess.
		res.Image, res.ImageDigest = "", ""
	}
	res.ServingDeployID = r.servingDeploy(traffic)
	if r.cfg.Mode == config.ModeStage && res.Staged != color.None {
		if staged, ok, _ := r.runningTraffic(ctx, res.Staged); ok {
			res.StagedImage, _ = r.imageOf(ctx, staged)
		}
	}
}

// settleUnfound fills what serves after a preflight that stopped on an
// nginx that runs but whose config already fails nginx -t: nginx still
// serves what its include's marker names, and the outputs say so. A
// stopped nginx serves nothing; other failures leave the outputs empty.
func (r *run) settleUnfound(ctx context.Context, err error) {
	if !errors.Is(err, nginx.ErrConfigBroken) || errors.Is(err, nginx.ErrNotRunning) || r.plans == nil || r.d.Nginx == nil {
		return
	}
	data, exists, rerr := r.d.Nginx.Read()
	if rerr != nil || !exists {
		return
	}
	m, found, merr := nginx.ReadMarker(data)
	if merr != nil || !found || m.Color == color.None || m.Canary != color.None || r.plans[m.Color] == nil {
		return
	}
	r.live = Live{Color: m.Color, Include: data, IncludeExists: true}
	r.res.Previous = m.Color
	r.settle(ctx, err)
}

// switched reports whether this run's switch to its new color succeeded.
func (r *run) switched() bool {
	for _, p := range r.res.Phases {
		if p.Kind == PhaseSwitch && p.Err == nil {
			return true
		}
	}
	return false
}

// runningTraffic is c's running container of the traffic service; err
// is set when Docker could not be asked.
func (r *run) runningTraffic(ctx context.Context, c color.Color) (compose.Container, bool, error) {
	p := r.plans[c]
	if p == nil || r.d.Engine == nil {
		return compose.Container{}, false, errors.New("no engine")
	}
	cs, err := r.d.Engine.List(ctx, r.cfg.ProjectFor(c))
	if err != nil {
		return compose.Container{}, false, err
	}
	for _, ct := range cs {
		if ct.Service == p.Service && ct.Running {
			return ct, true, nil
		}
	}
	return compose.Container{}, false, nil
}

// imageOf is the reference a container runs as the user wrote it, and
// its digest (repo@sha256:…, else the image id). A container created from
// an image id (a rollback to a deploy redeploys by id) gets back the
// reference that the deploy recorded for that id.
func (r *run) imageOf(ctx context.Context, ct compose.Container) (ref, digest string) {
	ref = ct.Image
	id := ct.ImageID
	info, err := r.d.Engine.ImageInfo(ctx, firstNonEmpty(id, ref))
	if err == nil && id == "" {
		id = info.ID
	}
	if isImageID(ref) {
		ref = r.recordedRef(ct.Service, firstNonEmpty(id, ref))
	}
	if err == nil {
		digest = pickDigest(info.RepoDigests, ref)
	}
	if digest == "" {
		digest = id
	}
	if ref == "" || isImageID(ref) {
		// No reference was ever recorded: the digest names the image.
		ref = digest
	}
	return ref, digest
}

// recordedRef finds the reference this run or the history recorded for
// image id (as the service's image, else any), "" when none.
func (r *run) recordedRef(service, id string) string {
	if img, ok := r.res.Images[service]; ok && img.ID == id && img.Ref != "" && !isImageID(img.Ref) {
		return img.Ref
	}
	if r.d.History == nil {
		return ""
	}
	entries, _, err := r.d.History.Entries()
	if err != nil {
		return ""
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if img, ok := entries[i].Images[service]; ok && img.ID == id && img.Ref != "" && !isImageID(img.Ref) {
			return img.Ref
		}
	}
	return ""
}

// servingDeploy is the id of the deploy whose color serves: this run's
// when its switch stands, else the include's marker, the history's last
// successful deploy of that color, or the traffic container's label.
func (r *run) servingDeploy(traffic compose.Container) string {
	res := r.res
	if r.cfg.Mode != config.ModeStatus && res.Active == r.target && r.switched() {
		return res.DeployID
	}
	if res.Active == r.live.Color && r.live.IncludeExists {
		if m, found, merr := nginx.ReadMarker(r.live.Include); merr == nil && found && m.Color == res.Active && m.Canary == color.None && config.ValidDeployID(m.DeployID) {
			return m.DeployID
		}
	}
	if r.d.History != nil {
		if entries, _, herr := r.d.History.Entries(); herr == nil {
			for i := len(entries) - 1; i >= 0; i-- {
				e := entries[i]
				if e.Result == ledger.Succeeded && e.Active == res.Active.String() && config.ValidDeployID(e.DeployID) {
					return e.DeployID
				}
			}
		}
	}
	if config.ValidDeployID(traffic.DeployID) {
		return traffic.DeployID
	}
	return ""
}

// isImageID reports whether ref is an image id rather than a reference.
func isImageID(ref string) bool {
	return strings.HasPrefix(ref, "sha256:") || (len(ref) == 64 && strings.Trim(ref, "0123456789abcdef") == "")
}

// pickDigest picks the repo digest of ref's repository, else the first.
func pickDigest(digests []string, ref string) string {
	if len(digests) == 0 {
		return ""
	}
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		for _, d := range digests {
			if dn, err := reference.ParseNormalizedNamed(d); err == nil && dn.Name() == named.Name() {
				return d
			}
		}
	}
	return digests[0]
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

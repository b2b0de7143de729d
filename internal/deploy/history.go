package deploy

// The history: every run that changes something is recorded in the
// project's ledger on the host; mode history shows it; rollback to a
// deploy id redeploys what it recorded; retain-images removes images of
// deploys older than the kept ones.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/ledger"
)

// record appends this run to the history. A failure to record is a
// warning: the deploy itself is done or undone either way.
func (r *run) record(err error) {
	if r.d.History == nil || r.cfg.Mode.ReadOnly() {
		return
	}
	e := ledger.Entry{
		DeployID:   r.res.DeployID,
		Time:       r.res.Started.UTC(),
		Mode:       string(r.cfg.Mode),
		Result:     ledger.Succeeded,
		Color:      colorName(r.res.Target),
		Active:     colorName(r.res.Active),
		Previous:   colorName(r.res.Previous),
		RollbackTo: r.res.RollbackTo,
		Images:     r.res.Images,
		RunID:      r.cfg.Run.RunID,
		Commit:     r.cfg.Run.SHA,
		Workflow:   r.cfg.Run.Workflow,
		Actor:      r.cfg.Run.Actor,
		Seconds:    time.Since(r.res.Started).Seconds(),
	}
	if p := r.plans[r.res.Target]; p != nil {
		e.ComposeHash = p.ComposeHash
	}
	e.Roles = r.res.Roles.entry()
	var pe *PhaseError
	switch {
	case err == nil:
	case r.res.RolledBack && errors.As(err, &pe) && (pe.Kind == PhaseObserve || pe.Kind == PhaseSingletons):
		e.Result = ledger.RolledBack
	default:
		e.Result = ledger.Failed
	}
	if errors.As(err, &pe) {
		e.FailedPhase = string(pe.Kind)
	}
	for _, p := range r.res.Phases {
		e.Phases = append(e.Phases, ledger.Phase{Kind: string(p.Kind), Seconds: p.Duration.Seconds(), Failed: p.Err != nil})
	}
	if err := r.d.History.Append(e); err != nil {
		r.d.Report.Warnf("failed to record this run in the history %s: %v", r.d.History.Path(), err)
	}
}

func colorName(c color.Color) string {
	if c == color.None {
		return ""
	}
	return c.String()
}

// history reads the history for mode history: printed, summarised and
// put in the history output. It changes nothing.
func (r *run) history() error {
	const name = "Read the history"
	return r.phaseErr(PhaseFind, name, func() error {
		if r.d.History == nil {
			return errors.New("no history is kept on this host")
		}
		entries, skipped, err := r.d.History.Entries()
		if err != nil {
			return err
		}
		if skipped > 0 {
			r.d.Report.Warnf("%d line(s) of %s are not history entries and were skipped", skipped, r.d.History.Path())
		}
		r.res.History = entries
		if entries == nil {
			r.res.History = []ledger.Entry{}
		}
		if len(entries) == 0 {
			r.d.Report.Infof("no deploys of %s are recorded in %s", r.cfg.ProjectName, r.d.History.Path())
			return nil
		}
		r.d.Report.Infof("%d run(s) of %s, newest last (%s):", len(entries), r.cfg.ProjectName, r.d.History.Path())
		for _, e := range entries {
			r.d.Report.Infof("    %s  %s  %-8s %-11s %-5s %s", e.DeployID, e.Time.Format(time.RFC3339), e.Mode, e.Result, e.Color, imageList(e.Images))
		}
		return nil
	})
}

// phaseErr runs a phase and makes its failure a PhaseError.
func (r *run) phaseErr(kind PhaseKind, name string, fn func() error) error {
	if err := r.phase(kind, name, fn); err != nil {
		return newPhaseError(kind, name, err)
	}
	return nil
}

// imageList names each service's image, sorted by service.
func imageList(images map[string]ledger.Image) string {
	names := make([]string, 0, len(images))
	for svc := range images {
		names = append(names, svc)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, svc := range names {
		parts = append(parts, svc+"="+images[svc].Ref)
	}
	return strings.Join(parts, " ")
}

// rollbackTo goes back to a recorded deploy: when it is the color kept
// stopped, that color starts again in seconds; otherwise the idle color is
// deployed afresh with the images the deploy recorded (by id when still on
// the host, else pulled by digest).
func (r *run) rollbackTo(ctx context.Context, id string) error {
	r.res.RollbackTo = id
	const find = "Find the deploy to go back to"
	var entry ledger.Entry
	var kept bool
	err := r.phase(PhaseStart, find, func() error {
		if r.d.History == nil {
			return fmt.Errorf("%w: no history is kept on this host", ErrNoRollback)
		}
		var err error
		if entry, err = r.d.History.Find(id); err != nil {
			return fmt.Errorf("%w: %w", ErrNoRollback, err)
		}
		if r.live.Color != color.None && deployOf(r.live.Running[r.live.Color]) == id {
			return fmt.Errorf("%w: deploy %s is the one serving (%s)", ErrNoRollback, id, r.live.Color)
		}
		idle := r.live.Color.Other()
		cs, err := r.d.Engine.List(ctx, r.cfg.ProjectFor(idle))
		if err != nil {
			return err
		}
		kept = deployOf(cs) == id
		if !kept {
			return r.useImages(ctx, r.plans[idle], entry)
		}
		return nil
	})
	if err != nil {
		return newPhaseError(PhaseStart, find, err)
	}
	if kept {
		r.d.Report.Infof("deploy %s is the %s color kept stopped: starting it again", id, r.live.Color.Other())
		return r.rollbackPrevious(ctx)
	}
	r.d.Report.Infof("redeploying %s from %s with the images it recorded: %s", id, entry.Time.Format(time.RFC3339), imageList(entry.Images))
	r.res.RolledBack = true
	return r.deploy(ctx)
}

// deployOf is the deploy id the containers carry ("" when they disagree
// or carry none).
func deployOf(cs []compose.Container) string {
	id := ""
	for _, c := range cs {
		switch {
		case c.DeployID == "":
			return ""
		case id == "":
			id = c.DeployID
		case id != c.DeployID:
			return ""
		}
	}
	return id
}

// useImages points each service of p at the image entry recorded for it:
// its id when the host still has it (no pull), else its repo digest, else
// its reference. An image that is nowhere any more is an error naming it.
func (r *run) useImages(ctx context.Context, p *plan, entry ledger.Entry) error {
	var gone []string
	for name, svc := range coloredServices(p) { // the singletons too
		img, ok := entry.Images[name]
		if !ok {
			continue
		}
		ref := ""
		switch {
		case img.ID != "" && r.present(ctx, img.ID):
			ref = img.ID
		case img.Digest != "":
			ref = img.Digest
		case img.Ref != "" && !strings.Contains(img.Ref, "@") && r.present(ctx, img.Ref) && img.ID == "":
			ref = img.Ref
		default:
			gone = append(gone, fmt.Sprintf("%s (%s, id %s)", name, img.Ref, shortID(img.ID)))
			continue
		}
		svc.Image = ref
		p.setImage(name, svc)
		if name == p.Service {
			p.Image = ref
		}
	}
	if len(gone) > 0 {
		sort.Strings(gone)
		return withHint(fmt.Errorf("%w: the images of deploy %s are gone from this host and have no digest to pull them by: %s", ErrNoRollback, entry.DeployID, strings.Join(gone, ", ")),
			"deploy that version again by its image tag, or raise retain-images so that the images of more deploys are kept")
	}
	return nil
}

func (r *run) present(ctx context.Context, ref string) bool {
	_, err := r.d.Engine.ImageInfo(ctx, ref)
	return err == nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// pruneImages removes images of deploys older than the last
// retain-images successful ones, when this action brought them to the
// host and nothing kept still uses them. It never removes an image the
// action did not pull or build, an image a container uses, a tag that
// now names another image, or an image a successful deploy in the history
// ran that has no digest to pull it again by.
func (r *run) pruneImages(ctx context.Context) {
	n := r.cfg.Operate.RetainImages
	if n == 0 || r.d.History == nil {
		return
	}
	entries, _, err := r.d.History.Entries()
	if err != nil {
		r.d.Report.Warnf("images were not pruned: %v", err)
		return
	}
	entries = append(entries, ledger.Entry{DeployID: r.res.DeployID, Mode: string(r.cfg.Mode), Result: ledger.Succeeded, Images: r.res.Images})
	keep := map[string]bool{}
	for _, e := range ledger.LastSucceeded(entries, n) {
		for _, img := range e.Images {
			keep[img.ID] = true
			r.res.RetainedImages = appendOnce(r.res.RetainedImages, img.Ref)
		}
	}
	// A deploy the history still holds (history-limit) may be rolled back
	// to: an image it ran that cannot be pulled again by digest (a local
	// build, a tag never pushed) stays until its deploy leaves the history.
	for _, e := range entries {
		if e.Result != ledger.Succeeded {
			continue
		}
		for _, img := range e.Images {
			if img.Digest == "" {
				keep[img.ID] = true
			}
		}
	}
	for _, c := range color.All {
		cs, err := r.d.Engine.List(ctx, r.cfg.ProjectFor(c))
		if err != nil {
			r.d.Report.Warnf("images were not pruned: %v", err)
			return
		}
		for _, ct := range cs {
			keep[ct.ImageID] = true
		}
	}
	r.keepSharedImages(ctx, keep)
	tried := map[string]bool{}
	for _, e := range entries {
		for _, img := range e.Images {
			if !img.Pulled || img.ID == "" || keep[img.ID] || tried[img.Ref] {
				continue
			}
			tried[img.Ref] = true
			info, err := r.d.Engine.ImageInfo(ctx, img.Ref)
			if err != nil || info.ID != img.ID {
				continue // gone already, or the tag names another image now
			}
			if err := r.d.Engine.RemoveImage(ctx, img.Ref); err != nil {
				r.d.Report.Infof("    kept %s: %v", img.Ref, err)
				continue
			}
			r.res.RemovedImages = append(r.res.RemovedImages, img.Ref)
		}
	}
	if len(r.res.RemovedImages) > 0 {
		r.d.Report.Infof("removed %d image(s) of deploys older than the last %d (retain-images): %s", len(r.res.RemovedImages), n, strings.Join(r.res.RemovedImages, ", "))
	}
}

func appendOnce(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

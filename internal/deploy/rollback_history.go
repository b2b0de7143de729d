package deploy

// Rollback without a kept color: the history records what every
// successful deploy ran, so mode: rollback redeploys the last good one
// from its images when the kept previous color is gone.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/ledger"
)

// rollbackFromHistory redeploys the last good deploy before the one
// serving, with the images it recorded; why says why the kept color could
// not be used.
func (r *run) rollbackFromHistory(ctx context.Context, why string) error {
	const find = "Find the deploy to go back to"
	var entry ledger.Entry
	err := r.phase(PhaseStart, find, func() error {
		var err error
		if entry, err = r.lastGood(why); err != nil {
			return err
		}
		r.res.RollbackTo = entry.DeployID
		return r.useImages(ctx, r.plans[r.live.Color.Other()], entry)
	})
	if err != nil {
		return newPhaseError(PhaseStart, find, err)
	}
	r.d.Report.Infof("%s: redeploying the last good deploy %s (%s, %s) with the images it recorded: %s",
		why, entry.DeployID, entry.Mode, entry.Time.Format(time.RFC3339), imageList(entry.Images))
	r.res.RolledBack = true
	return r.deploy(ctx)
}

// lastGood is the newest successful deploy, rollback or promote in the
// history other than the one serving. Without one, the error says what
// the history holds.
func (r *run) lastGood(why string) (ledger.Entry, error) {
	hint := "deploy with keep-previous: true, so that the previous color is kept, stopped, for mode: rollback"
	if r.d.History == nil {
		return ledger.Entry{}, withHint(fmt.Errorf("%w: %s, and no history is kept on this host", ErrNoRollback, why), "%s", hint)
	}
	entries, _, err := r.d.History.Entries()
	if err != nil {
		return ledger.Entry{}, err
	}
	liveID := deployOf(r.live.Running[r.live.Color])
	skipNewest := liveID == "" // the serving deploy cannot be told: assume the newest
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.Result != ledger.Succeeded || len(e.Images) == 0 {
			continue
		}
		switch e.Mode {
		case "deploy", "rollback", "promote":
		default:
			continue
		}
		serving := e.DeployID == liveID || (e.Mode == "rollback" && e.RollbackTo == liveID)
		if liveID != "" && serving {
			continue
		}
		if skipNewest {
			skipNewest = false
			continue
		}
		return e, nil
	}
	return ledger.Entry{}, withHint(fmt.Errorf("%w: %s, and the history (%s) holds no successful deploy before the one serving: %s",
		ErrNoRollback, why, r.d.History.Path(), historyDigest(entries)), "%s; mode: history lists the runs", hint)
}

// historyDigest says in a line what a history holds: its newest runs.
func historyDigest(entries []ledger.Entry) string {
	if len(entries) == 0 {
		return "no runs are recorded"
	}
	const most = 5
	var parts []string
	for i := len(entries) - 1; i >= 0 && len(parts) < most; i-- {
		e := entries[i]
		parts = append(parts, fmt.Sprintf("%s %s %s", e.DeployID, e.Mode, e.Result))
	}
	s := fmt.Sprintf("%d run(s) recorded, newest first: %s", len(entries), strings.Join(parts, "; "))
	if len(entries) > most {
		s += "; …"
	}
	return s
}

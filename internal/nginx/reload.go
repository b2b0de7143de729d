package nginx

// The reload, confirmed: nginx -s reload exiting 0 only means a signal
// was sent, so the masters the command addresses are watched until they
// start new workers.

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Reload is what a confirmed reload leaves for the drain: which masters
// applied the new include and the workers they had before, which go on
// serving in-flight requests to the old color until they exit.
type Reload struct {
	// Observed is false when no nginx process could be seen (for example
	// nginx runs in a PID namespace this process cannot see): the switch
	// is then unconfirmed and the drain can only watch connections.
	Observed bool
	// Masters are the masters that started new workers after the signal.
	Masters []Process
	// OldWorkers are the workers those masters had before the signal.
	OldWorkers []Process
	// NewWorkers are the workers started after the signal.
	NewWorkers []Process
	// Procfs is where the processes were observed, for the drain.
	Procfs string
	// Signalled is when the reload command was run.
	Signalled time.Time
	// ConfirmedAfter is how long after the signal new workers were seen.
	ConfirmedAfter time.Duration
}

// reload snapshots the masters, sends the reload and confirms it.
func (s *Switcher) reload(ctx context.Context) (*Reload, error) {
	procfs := s.procfs()
	before, scanErr := scanNginx(procfs)
	targets := s.targets(before)
	logs := make(map[int]int64, len(targets))
	for _, m := range targets {
		if _, size, ok := errorLog(procfs, m.PID); ok {
			logs[m.PID] = size
		}
	}
	signalled := time.Now()
	if _, err := s.run(ctx, s.ReloadCmd); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrReload, err)
	}
	if scanErr != nil || len(targets) == 0 {
		why := "no nginx master process is visible in " + procfs
		if scanErr != nil {
			why = scanErr.Error()
		}
		s.warnf("could not confirm the nginx reload by worker restart (%s); the switch is unconfirmed", why)
		return &Reload{Procfs: procfs, Signalled: signalled}, nil
	}
	return s.confirm(ctx, procfs, targets, signalled, logs)
}

// targets picks the masters the reload command addresses: those started
// with the same config (-c/-p), so that another nginx on the host
// reloading at the same moment cannot confirm our switch. When none
// matches (a wrapper script, a relative path), all masters are watched.
func (s *Switcher) targets(masters []master) []master {
	if s.Owns != nil {
		var owned []master
		for _, m := range masters {
			if s.Owns(m.PID) {
				owned = append(owned, m)
			}
		}
		masters = owned
	}
	if key, ok := nginxIdentity(s.ReloadCmd); ok {
		var matched []master
		for _, m := range masters {
			if masterIdentity(m.Cmdline) == key {
				matched = append(matched, m)
			}
		}
		if len(matched) > 0 {
			return matched
		}
	}
	if len(masters) > 1 {
		s.logf("could not tell which of %d nginx masters %q signals; any of them starting new workers confirms the reload",
			len(masters), strings.Join(s.ReloadCmd, " "))
	}
	return masters
}

// confirm waits until a target master has workers it did not have before
// the signal: a master starts new workers only after it has applied the
// new config, and keeps the old ones when it rejects it.
func (s *Switcher) confirm(ctx context.Context, procfs string, targets []master, signalled time.Time, logs map[int]int64) (*Reload, error) {
	timeout := s.confirmTimeout()
	deadline := signalled.Add(timeout)
	for {
		cur, err := scanNginx(procfs)
		if err == nil {
			if r := reloaded(targets, cur); r != nil {
				r.Procfs, r.Signalled, r.ConfirmedAfter = procfs, signalled, time.Since(signalled)
				s.logf("nginx master %s started new workers %s %s after the reload signal; old workers %s finish their requests",
					joinProcs(r.Masters), joinProcs(r.NewWorkers), r.ConfirmedAfter.Round(time.Millisecond), joinProcs(r.OldWorkers))
				return r, nil
			}
			if !anyAlive(targets, cur) {
				return nil, fmt.Errorf("%w: nginx master %s exited after the reload signal%s",
					ErrReloadNotConfirmed, joinProcs(masterProcs(targets)), logExcerpt(procfs, targets, logs))
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: nginx master %s started no new workers within %s of the reload signal, "+
				"so it most likely rejected the config and kept the old one%s",
				ErrReloadNotConfirmed, joinProcs(masterProcs(targets)), timeout, logExcerpt(procfs, targets, logs))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: stopped waiting for new workers: %w", ErrReloadNotConfirmed, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// reloaded compares the targets before the signal with the masters now.
func reloaded(targets, cur []master) *Reload {
	var r Reload
	for _, t := range targets {
		for _, c := range cur {
			if c.Process != t.Process {
				continue
			}
			var fresh []Process
			for _, w := range c.Workers {
				if !containsProc(t.Workers, w) {
					fresh = append(fresh, w)
				}
			}
			if len(fresh) > 0 {
				r.Masters = append(r.Masters, t.Process)
				r.OldWorkers = append(r.OldWorkers, t.Workers...)
				r.NewWorkers = append(r.NewWorkers, fresh...)
			}
		}
	}
	if len(r.Masters) == 0 {
		return nil
	}
	r.Observed = true
	return &r
}

func anyAlive(targets, cur []master) bool {
	for _, t := range targets {
		for _, c := range cur {
			if c.Process == t.Process {
				return true
			}
		}
	}
	return false
}

func containsProc(ps []Process, p Process) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func masterProcs(ms []master) []Process {
	ps := make([]Process, len(ms))
	for i, m := range ms {
		ps[i] = m.Process
	}
	return ps
}

func joinProcs(ps []Process) string {
	if len(ps) == 0 {
		return "(none)"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// logExcerpt quotes what the masters wrote to their error logs after the
// signal, which is where nginx says why it rejected a config.
func logExcerpt(procfs string, targets []master, logs map[int]int64) string {
	var parts []string
	for _, m := range targets {
		off, ok := logs[m.PID]
		if !ok {
			continue
		}
		path, _, _ := errorLog(procfs, m.PID)
		if lines := errorLogSince(procfs, m.PID, off); len(lines) > 0 {
			parts = append(parts, fmt.Sprintf("error log %s says: %s", path, strings.Join(lines, " | ")))
		}
	}
	if len(parts) == 0 {
		return "; see nginx's error log for the reason"
	}
	return "; " + strings.Join(parts, "; ")
}

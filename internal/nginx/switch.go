package nginx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

// DefaultConfirmTimeout is how long Switch waits for an nginx master to
// start new workers after the reload signal. A master that cannot bind a
// port retries for about 2.5 s before it gives up, so the default must be
// longer than that for a rejection to be certain when it expires.
const DefaultConfirmTimeout = 5 * time.Second

// pollInterval is how often procfs is scanned while confirming or draining.
const pollInterval = 20 * time.Millisecond

// restoreTimeout bounds the commands run to put the previous include back.
// The restore runs even when the deploy's context is cancelled, because a
// cancelled deploy must not leave nginx on a half-made switch.
const restoreTimeout = time.Minute

// Switcher replaces nginx's include and proves nginx applied it. It is not
// safe for concurrent use; the deploy's host-wide lock serialises switches.
type Switcher struct {
	// IncludePath is the include nginx reads, e.g.
	// /etc/nginx/conf.d/service-url.inc. A symlink is followed and its
	// target replaced.
	IncludePath string
	// TestCmd checks the config, e.g. ["nginx", "-t"].
	TestCmd []string
	// ReloadCmd signals the reload, e.g. ["nginx", "-s", "reload"]. Its -c
	// and -p flags (also after "docker exec <name>") tell which master to
	// watch when several run on the host.
	ReloadCmd []string
	// Run runs the commands. Default execx.Run.
	Run RunFunc
	// Procfs is where nginx's processes are observed. Default "/proc".
	Procfs string
	// ConfirmTimeout caps the wait for new workers after the reload
	// signal. Default DefaultConfirmTimeout.
	ConfirmTimeout time.Duration
	// Logf receives progress and warnings. Default: discard.
	Logf func(format string, args ...any)
	// Warnf receives warnings the user should act on, such as a host name
	// nginx cannot resolve without a resolver. Default: Logf.
	Warnf func(format string, args ...any)
	// Owns, when set, limits the nginx masters watched to the processes it
	// accepts: Container.Owns accepts those of the nginx container, so a
	// host nginx with the same config path reloading at the same moment
	// cannot confirm the switch.
	Owns func(pid int) bool

	ops *fileOps // file system failures injected by tests; nil is the real one
}

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

// SwitchError is a failed switch. It says what failed and whether the
// previous include was put back, because the answer to "is nginx still
// serving the old color?" decides what the user must do next.
type SwitchError struct {
	// Path is the include.
	Path string
	// Err is what failed; it wraps ErrWrite, ErrConfigTest, ErrReload or
	// ErrReloadNotConfirmed.
	Err error
	// Reloaded is whether nginx was reloaded with the restored include
	// (only needed when the reload signal had been sent).
	Reloaded bool
	// RestoreErr is nil when the previous include was restored; otherwise
	// it wraps ErrRestoreFailed and a human must look at nginx.
	RestoreErr error
}

func (e *SwitchError) Error() string {
	msg := e.Err.Error()
	switch {
	case e.RestoreErr != nil:
		msg += fmt.Sprintf("; RESTORING THE PREVIOUS INCLUDE ALSO FAILED, so nginx may be serving a broken or wrong include: "+
			"check %s and run nginx -t by hand: %v", e.Path, e.RestoreErr)
	case e.Reloaded:
		msg += fmt.Sprintf("; the previous include was restored and nginx reloaded with it (%s)", e.Path)
	default:
		msg += fmt.Sprintf("; the previous include was restored (nginx never loaded the new one): %s", e.Path)
	}
	return msg
}

// Unwrap lets errors.Is find both the failure and a failed restore.
func (e *SwitchError) Unwrap() []error {
	if e.RestoreErr == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.RestoreErr}
}

func (s *Switcher) validate() error {
	var missing []string
	if s.IncludePath == "" {
		missing = append(missing, "IncludePath")
	}
	if len(s.TestCmd) == 0 {
		missing = append(missing, "TestCmd")
	}
	if len(s.ReloadCmd) == 0 {
		missing = append(missing, "ReloadCmd")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s not set", ErrNotConfigured, strings.Join(missing, ", "))
	}
	return nil
}

func (s *Switcher) run(ctx context.Context, args []string) (execx.Result, error) {
	if s.Run != nil {
		return s.Run(ctx, args)
	}
	return execx.Run(ctx, args)
}

func (s *Switcher) procfs() string {
	if s.Procfs != "" {
		return s.Procfs
	}
	return DefaultProcfs
}

func (s *Switcher) confirmTimeout() time.Duration {
	if s.ConfirmTimeout > 0 {
		return s.ConfirmTimeout
	}
	return DefaultConfirmTimeout
}

func (s *Switcher) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

func (s *Switcher) warnf(format string, args ...any) {
	if s.Warnf != nil {
		s.Warnf(format, args...)
		return
	}
	s.logf("warning: "+format, args...)
}

// Read returns the include's current bytes; exists is false when there is
// no include yet (a first deploy), which is not an error.
func (s *Switcher) Read() (data []byte, exists bool, err error) {
	data, err = os.ReadFile(s.IncludePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("failed to read nginx include %s: %w", s.IncludePath, err)
	}
	return data, true, nil
}

// Switch makes nginx serve next: it writes the include atomically, runs
// TestCmd, runs ReloadCmd and then waits until an nginx master starts new
// workers, because a reload command exiting 0 only means a signal was
// sent and the master may still reject the config and keep the old one.
// On any failure the previous include is put back and tested, and nginx
// is reloaded with it when the reload signal may have been sent (after a
// failed write or config test nginx never saw the new include); the
// *SwitchError says what failed and whether the restore worked. When no
// nginx process is visible, the switch succeeds unconfirmed
// (Reload.Observed false) with a warning through Logf.
func (s *Switcher) Switch(ctx context.Context, next []byte) (*Reload, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	prev, existed, err := s.Read()
	if err != nil {
		return nil, err
	}
	var was previous
	was.data, was.existed = prev, existed
	if st, err := os.Stat(s.IncludePath); err == nil {
		was.modTime = st.ModTime()
	}
	if err := writeFileAtomic(s.IncludePath, next, s.ops); err != nil {
		return nil, s.fail(ctx, fmt.Errorf("%w: %w", ErrWrite, err), was, false)
	}
	s.logf("wrote nginx include %s (%d bytes)", s.IncludePath, len(next))
	if err := s.test(ctx); err != nil {
		return nil, s.fail(ctx, err, was, false)
	}
	s.checkResolver(ctx, next)
	r, err := s.reload(ctx)
	if err != nil {
		return nil, s.fail(ctx, err, was, maySignalled(err))
	}
	return r, nil
}

// maySignalled reports whether a failed reload may have reached nginx. A
// reload command that exited non-zero sent nothing (nginx -s exits 1
// before it signals), so reloading the restored include would only churn
// workers, or fail for the same reason and report a restore failure that
// did not happen. A command that was killed or timed out may have sent it.
func maySignalled(err error) bool {
	if !errors.Is(err, ErrReload) {
		return true
	}
	var ee *execx.Error
	return !errors.As(err, &ee) || ee.ExitCode < 0
}

// Restore puts prev back (or removes the include when existed is false),
// tests the config and reloads nginx, confirming the reload like Switch.
// Rollbacks use it after a switch that succeeded but whose color then
// failed. It runs to the end even when ctx is cancelled.
func (s *Switcher) Restore(ctx context.Context, prev []byte, existed bool) error {
	if err := s.validate(); err != nil {
		return err
	}
	if err := s.restore(ctx, previous{data: prev, existed: existed}, true); err != nil {
		return fmt.Errorf("failed to restore nginx include %s: %w", s.IncludePath, err)
	}
	return nil
}

// fail restores the previous include after a failed switch and builds the
// error.
func (s *Switcher) fail(ctx context.Context, cause error, prev previous, reload bool) error {
	s.logf("nginx switch failed, restoring the previous include: %v", cause)
	err := &SwitchError{Path: s.IncludePath, Err: cause, Reloaded: reload}
	err.RestoreErr = s.restore(ctx, prev, reload)
	if err.RestoreErr != nil {
		s.logf("RESTORING THE PREVIOUS NGINX INCLUDE FAILED: %v", err.RestoreErr)
	}
	return err
}

// previous is the include as it was before a switch.
type previous struct {
	data    []byte
	existed bool
	// modTime is the include's modification time before the switch; zero
	// when unknown.
	modTime time.Time
}

// restore writes prev back unless the include already holds it, tests,
// and reloads when asked. Without a reload (nginx never loaded the new
// include) the file also gets its old modification time back, so that the
// next deploy does not take it for an include written but never loaded.
// Errors wrap ErrRestoreFailed.
func (s *Switcher) restore(ctx context.Context, prev previous, reload bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreTimeout+2*s.confirmTimeout())
	defer cancel()
	cur, curExists, err := s.Read()
	if err != nil || curExists != prev.existed || !bytes.Equal(cur, prev.data) {
		if prev.existed {
			err = writeFileAtomic(s.IncludePath, prev.data, s.ops)
		} else {
			err = removeFileDurably(s.IncludePath)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRestoreFailed, err)
		}
	}
	if prev.existed && !reload && !prev.modTime.IsZero() {
		if err := os.Chtimes(s.IncludePath, time.Time{}, prev.modTime); err != nil {
			s.warnf("failed to give %s its old modification time back: %v; the next deploy may reload nginx to be sure it serves this include", s.IncludePath, err)
		}
	}
	if err := s.test(ctx); err != nil {
		return fmt.Errorf("%w: the config with the previous include does not pass either: %w", ErrRestoreFailed, err)
	}
	if reload {
		if _, err := s.reload(ctx); err != nil {
			return fmt.Errorf("%w: %w", ErrRestoreFailed, err)
		}
	}
	s.logf("restored the previous nginx include %s", s.IncludePath)
	return nil
}

func (s *Switcher) test(ctx context.Context) error {
	if _, err := s.run(ctx, s.TestCmd); err != nil {
		return fmt.Errorf("%w: %w", ErrConfigTest, err)
	}
	s.logf("nginx config test passed")
	return nil
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

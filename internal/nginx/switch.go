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
	// CandidateDir is where Prepare builds its candidate copy of nginx's
	// config, in a temp directory it removes. Default: os.TempDir().
	CandidateDir string
	// Warnf receives warnings the user should act on, such as a host name
	// nginx cannot resolve without a resolver. Default: Logf.
	Warnf func(format string, args ...any)
	// Owns, when set, limits the nginx masters watched to the processes it
	// accepts: Container.Owns accepts those of the nginx container, so a
	// host nginx with the same config path reloading at the same moment
	// cannot confirm the switch.
	Owns func(pid int) bool
	// CheckAt is the front door whose marker location is asked after a
	// failed switch, so that the error says what nginx serves, checked;
	// zero means it is not asked (the include and the master still are).
	CheckAt FrontDoor

	ops *fileOps // file system failures injected by tests; nil is the real one
	// dumped is the config nginx -T printed in Preflight, nil before.
	dumped *string
}

// SwitchError is a failed switch. It says what failed, whether the
// previous include was put back, and what nginx serves as checked
// afterwards (the include read back, the master, the front door), because
// the answer to "is nginx still serving the old color?" decides what the
// user must do next, and must never be a guess.
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
	// it wraps ErrRestoreFailed and Serving says where things stand.
	RestoreErr error
	// StillFailing is set when the previous include is back but nginx -t
	// fails with it too: the config is broken outside the include, and
	// nginx, never reloaded, serves what it served before.
	StillFailing error
	// Serving is what was checked after the restore.
	Serving Serving
}

func (e *SwitchError) Error() string {
	msg := e.Err.Error()
	switch {
	case e.RestoreErr != nil:
		msg += fmt.Sprintf("; putting the previous include back failed too (%v)", e.RestoreErr)
	case e.Reloaded:
		msg += fmt.Sprintf("; the previous include was restored and nginx reloaded with it (%s)", e.Path)
	default:
		msg += fmt.Sprintf("; the previous include was restored (nginx never loaded the new one): %s", e.Path)
	}
	if e.StillFailing != nil {
		msg += fmt.Sprintf("; nginx -t fails with the previous include as well, so the config is broken outside it (fix that before the next deploy): %v", e.StillFailing)
	}
	return msg + "; checked: " + e.Serving.String()
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
	was, err := s.previous()
	if err != nil {
		return nil, err
	}
	return s.commit(ctx, next, was, true)
}

// previous reads the include as it is before a switch.
func (s *Switcher) previous() (previous, error) {
	prev, existed, err := s.Read()
	if err != nil {
		return previous{}, err
	}
	was := previous{data: prev, existed: existed}
	if st, err := os.Stat(s.IncludePath); err == nil {
		was.modTime = st.ModTime()
	}
	return was, nil
}

// commit writes next, tests the config when test is set, reloads and
// confirms, restoring was on any failure.
func (s *Switcher) commit(ctx context.Context, next []byte, was previous, test bool) (*Reload, error) {
	if err := writeFileAtomic(s.IncludePath, next, s.ops); err != nil {
		return nil, s.fail(ctx, fmt.Errorf("%w: %w", ErrWrite, err), was, false)
	}
	s.logf("wrote nginx include %s (%d bytes)", s.IncludePath, len(next))
	if test {
		if err := s.test(ctx); err != nil {
			return nil, s.fail(ctx, err, was, false)
		}
		s.checkResolver(ctx, next)
	}
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
	if _, err := s.restore(ctx, previous{data: prev, existed: existed}, true); err != nil {
		return fmt.Errorf("failed to restore nginx include %s: %w", s.IncludePath, err)
	}
	return nil
}

// fail restores the previous include after a failed switch and builds the
// error, ending with what nginx serves as checked.
func (s *Switcher) fail(ctx context.Context, cause error, prev previous, reload bool) error {
	s.logf("nginx switch failed, restoring the previous include: %v", cause)
	err := &SwitchError{Path: s.IncludePath, Err: cause, Reloaded: reload}
	err.StillFailing, err.RestoreErr = s.restore(ctx, prev, reload)
	if err.RestoreErr != nil {
		s.logf("putting the previous nginx include back failed: %v", err.RestoreErr)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err.Serving = s.CheckServing(ctx)
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
// next deploy does not take it for an include written but never loaded,
// and a failing test is no failure of the restore: nginx still serves the
// config it had, and stillFailing says the config is broken outside the
// include. Errors wrap ErrRestoreFailed.
func (s *Switcher) restore(ctx context.Context, prev previous, reload bool) (stillFailing, err error) {
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
			return nil, fmt.Errorf("%w: %w", ErrRestoreFailed, err)
		}
	}
	if prev.existed && !reload && !prev.modTime.IsZero() {
		if err := os.Chtimes(s.IncludePath, time.Time{}, prev.modTime); err != nil {
			s.warnf("failed to give %s its old modification time back: %v; the next deploy may reload nginx to be sure it serves this include", s.IncludePath, err)
		}
	}
	if err := s.test(ctx); err != nil {
		if !reload {
			s.logf("restored the previous nginx include %s; nginx -t still fails with it", s.IncludePath)
			return err, nil
		}
		return nil, fmt.Errorf("%w: the config with the previous include does not pass either: %w", ErrRestoreFailed, err)
	}
	if reload {
		if _, err := s.reload(ctx); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRestoreFailed, err)
		}
	}
	s.logf("restored the previous nginx include %s", s.IncludePath)
	return nil, nil
}

func (s *Switcher) test(ctx context.Context) error {
	if _, err := s.run(ctx, s.TestCmd); err != nil {
		return fmt.Errorf("%w: %w", ErrConfigTest, err)
	}
	s.logf("nginx config test passed")
	return nil
}

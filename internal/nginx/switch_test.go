package nginx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/execx"
)

// fakeNginx answers the test and reload commands. Its hooks see how many
// times each command ran (1 for the switch, 2 for the restore).
type fakeNginx struct {
	mu       sync.Mutex
	tests    int
	reloads  int
	ctxErrs  []error // ctx.Err() seen by each call
	onTest   func(n int) error
	onReload func(ctx context.Context, n int) error
}

func (f *fakeNginx) run(ctx context.Context, args []string) (execx.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
	switch {
	case slices.Contains(args, "-t"):
		f.tests++
		if f.onTest != nil {
			if err := f.onTest(f.tests); err != nil {
				return execx.Result{}, err
			}
		}
	case slices.Contains(args, "reload"):
		f.reloads++
		if f.onReload != nil {
			if err := f.onReload(ctx, f.reloads); err != nil {
				return execx.Result{}, err
			}
		}
	default:
		return execx.Result{}, fmt.Errorf("unexpected command %q", args)
	}
	return execx.Result{}, nil
}

func (f *fakeNginx) counts() (tests, reloads int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tests, f.reloads
}

// exitErr is what execx.Run returns for a command that exited 1.
func exitErr(args []string, output string) error {
	return &execx.Error{Args: args, ExitCode: 1, Output: output, Err: errors.New("exit status 1")}
}

const (
	oldInclude = "# bluegreen: color=blue deploy=1\nset $service_url http://127.0.0.1:8081;\n"
	newInclude = "# bluegreen: color=green deploy=2\nset $service_url http://127.0.0.1:8082;\n"
)

// fakeSetup is an include, a fake procfs with one master and two
// workers, and a Switcher wired to them.
type fakeSetup struct {
	fs    *fakeProcfs
	nginx *fakeNginx
	sw    *Switcher
	path  string
	logs  *logBuffer
}

type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func newFakeSetup(t *testing.T, include string) *fakeSetup {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "service-url.inc")
	if include != "" {
		require.NoError(t, os.WriteFile(path, []byte(include), 0o640))
	}
	fs := newFakeProcfs(t)
	fs.add(100, 1, 500, "nginx: master process /usr/sbin/nginx -p /srv/a -c /srv/a/nginx.conf")
	fs.add(101, 100, 510, "nginx: worker process")
	fs.add(102, 100, 510, "nginx: worker process")
	fn := &fakeNginx{}
	logs := &logBuffer{}
	sw := &Switcher{
		IncludePath:    path,
		TestCmd:        []string{"/usr/sbin/nginx", "-p", "/srv/a", "-c", "/srv/a/nginx.conf", "-t"},
		ReloadCmd:      []string{"/usr/sbin/nginx", "-p", "/srv/a", "-c", "/srv/a/nginx.conf", "-s", "reload"},
		Run:            fn.run,
		Procfs:         fs.root,
		ConfirmTimeout: 300 * time.Millisecond,
		Logf:           logs.logf,
	}
	return &fakeSetup{fs: fs, nginx: fn, sw: sw, path: path, logs: logs}
}

func (s *fakeSetup) include(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(s.path)
	require.NoError(t, err)
	return string(b)
}

// respawn makes master 100 start new workers, as a reload it accepts does.
func (s *fakeSetup) respawn(n int) {
	base := 100 + 10*n
	s.fs.add(base+3, 100, uint64(600+n), "nginx: worker process")
	s.fs.add(base+4, 100, uint64(600+n), "nginx: worker process")
}

func TestSwitchConfirmedByNewWorkers(t *testing.T) {
	t.Parallel()
	s := newFakeSetup(t, oldInclude)
	s.nginx.onReload = func(_ context.Context, n int) error {
		s.respawn(n)
		return nil
	}
	r, err := s.sw.Switch(context.Background(), []byte(newInclude))
	require.NoError(t, err)
	assert.Equal(t, newInclude, s.include(t))
	assert.True(t, r.Observed)
	assert.Equal(t, []Process{{100, 500}}, r.Masters)
	assert.Equal(t, []Process{{101, 510}, {102, 510}}, r.OldWorkers)
	assert.Equal(t, []Process{{113, 601}, {114, 601}}, r.NewWorkers)
	assert.Equal(t, s.fs.root, r.Procfs)
	assert.Contains(t, s.logs.String(), "nginx master 100 started new workers 113,114")
	tests, reloads := s.nginx.counts()
	assert.Equal(t, 1, tests)
	assert.Equal(t, 1, reloads)
}

// TestSwitchIgnoresAnotherMastersReload is the case of several nginx
// instances on one host: another master reloading at the same moment must
// not confirm a reload that our master rejected.
func TestSwitchIgnoresAnotherMastersReload(t *testing.T) {
	t.Parallel()
	s := newFakeSetup(t, oldInclude)
	log := s.fs.errorLog(100)
	s.fs.add(200, 1, 550, "nginx: master process /usr/sbin/nginx -p /srv/b -c /srv/b/nginx.conf")
	s.fs.add(201, 200, 560, "nginx: worker process")
	s.nginx.onReload = func(_ context.Context, n int) error {
		if n == 1 { // ours rejects the config; the other one reloads
			s.fs.add(202, 200, 700, "nginx: worker process")
			appendFile(t, log, "2024/06/30 10:00:01 [emerg] 100#100: bind() to 127.0.0.1:9 failed (98: Address already in use)\n")
			return nil
		}
		s.respawn(n) // the restore is accepted
		return nil
	}
	_, err := s.sw.Switch(context.Background(), []byte(newInclude))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrReloadNotConfirmed)
	assert.NotErrorIs(t, err, ErrRestoreFailed)
	var se *SwitchError
	require.ErrorAs(t, err, &se)
	assert.True(t, se.Reloaded)
	msg := err.Error()
	assert.Contains(t, msg, "nginx master 100 started no new workers within 300ms")
	assert.Contains(t, msg, "bind() to 127.0.0.1:9 failed (98: Address already in use)")
	assert.Contains(t, msg, "the previous include was restored and nginx reloaded with it")
	assert.Equal(t, oldInclude, s.include(t))
	tests, reloads := s.nginx.counts()
	assert.Equal(t, 2, tests)
	assert.Equal(t, 2, reloads)
}

func TestSwitchUnobservedStillSucceeds(t *testing.T) {
	t.Parallel()
	s := newFakeSetup(t, oldInclude)
	s.sw.Procfs = t.TempDir() // a procfs where nginx is not visible
	r, err := s.sw.Switch(context.Background(), []byte(newInclude))
	require.NoError(t, err)
	assert.False(t, r.Observed)
	assert.Empty(t, r.OldWorkers)
	assert.Equal(t, newInclude, s.include(t))
	assert.Contains(t, s.logs.String(), "could not confirm the nginx reload by worker restart (no nginx master process is visible")
}

func TestSwitchFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		existed     bool
		setup       func(s *fakeSetup)
		wantErr     error
		wantRestore bool // ErrRestoreFailed expected
		wantText    []string
		wantTests   int
		wantReloads int
	}{
		{
			name: "nginx -t rejects the new include", existed: true,
			setup: func(s *fakeSetup) {
				s.nginx.onTest = func(n int) error {
					if n == 1 {
						return exitErr(s.sw.TestCmd, `nginx: [emerg] unexpected end of file, expecting ";" or "}" in /srv/a/conf.d/service-url.inc:3`)
					}
					return nil
				}
			},
			wantErr:  ErrConfigTest,
			wantText: []string{"nginx config test failed", `unexpected end of file, expecting ";"`, "the previous include was restored (nginx never loaded the new one)"},
			// The failed test and the restored include's test; no reload, as
			// nginx never loaded the new include.
			wantTests: 2, wantReloads: 0,
		},
		{
			name: "first deploy: no include before, test fails", existed: false,
			setup: func(s *fakeSetup) {
				s.nginx.onTest = func(n int) error {
					if n == 1 {
						return exitErr(s.sw.TestCmd, "nginx: [emerg] unknown directive")
					}
					return nil
				}
			},
			wantErr:   ErrConfigTest,
			wantText:  []string{"unknown directive", "the previous include was restored"},
			wantTests: 2, wantReloads: 0,
		},
		{
			name: "reload command fails", existed: true,
			setup: func(s *fakeSetup) {
				s.nginx.onReload = func(_ context.Context, n int) error {
					return exitErr(s.sw.ReloadCmd, `nginx: [error] open() "/srv/a/nginx.pid" failed (2: No such file or directory)`)
				}
			},
			wantErr:   ErrReload,
			wantText:  []string{"nginx reload command failed", "nginx.pid", "the previous include was restored"},
			wantTests: 2, wantReloads: 1,
		},
		{
			name: "reload command killed: the signal may have been sent", existed: true,
			setup: func(s *fakeSetup) {
				s.nginx.onReload = func(_ context.Context, n int) error {
					if n == 1 {
						return &execx.Error{Args: s.sw.ReloadCmd, ExitCode: -1, Err: context.DeadlineExceeded}
					}
					s.respawn(n)
					return nil
				}
			},
			wantErr:   ErrReload,
			wantText:  []string{"the previous include was restored and nginx reloaded with it"},
			wantTests: 2, wantReloads: 2,
		},
		{
			// Issue 18: a config broken outside the include (another
			// server's missing file) fails the test before and after the
			// restore. The include is back and nginx was never reloaded,
			// so nothing failed to restore, and the message says so,
			// checked, instead of "RESTORING ... ALSO FAILED".
			name: "the config is broken outside the include", existed: true,
			setup: func(s *fakeSetup) {
				s.nginx.onTest = func(n int) error {
					return exitErr(s.sw.TestCmd, "nginx: [emerg] open() \"/etc/nginx/mime.types\" failed")
				}
			},
			wantErr: ErrConfigTest,
			wantText: []string{"the previous include was restored (nginx never loaded the new one)",
				"nginx -t fails with the previous include as well, so the config is broken outside it",
				"checked: the include holds blue (deploy 1); nginx runs"},
			wantTests: 2, wantReloads: 0,
		},
		{
			name: "write fails", existed: true,
			setup: func(s *fakeSetup) {
				s.sw.ops = &fileOps{rename: func(string, string) error { return errors.New("no space left on device") }}
			},
			wantErr:   ErrWrite,
			wantText:  []string{"failed to write the include", "no space left on device", "the previous include was restored"},
			wantTests: 1, wantReloads: 0,
		},
		{
			name: "reload not confirmed and the restore is not confirmed either", existed: true,
			setup:   func(s *fakeSetup) {},
			wantErr: ErrReloadNotConfirmed, wantRestore: true,
			wantText:  []string{"started no new workers", "putting the previous include back failed too", "checked: the include holds blue (deploy 1); nginx runs"},
			wantTests: 2, wantReloads: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prev := ""
			if tt.existed {
				prev = oldInclude
			}
			s := newFakeSetup(t, prev)
			tt.setup(s)
			r, err := s.sw.Switch(context.Background(), []byte(newInclude))
			require.Error(t, err)
			assert.Nil(t, r)
			assert.ErrorIs(t, err, tt.wantErr)
			if tt.wantRestore {
				assert.ErrorIs(t, err, ErrRestoreFailed)
			} else {
				assert.NotErrorIs(t, err, ErrRestoreFailed)
			}
			assert.False(t, strings.HasPrefix(err.Error(), "failed to switch"), "the deploy names the phase; the error starts with the cause: %s", err)
			for _, w := range tt.wantText {
				assert.Contains(t, err.Error(), w)
			}
			if tt.existed {
				assert.Equal(t, oldInclude, s.include(t), "previous bytes not restored")
				fi, err := os.Stat(s.path)
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
			} else {
				_, err := os.Stat(s.path)
				assert.True(t, os.IsNotExist(err), "the include that did not exist before was not removed")
			}
			if tt.existed {
				assert.Equal(t, []string{filepath.Base(s.path)}, dirNames(t, filepath.Dir(s.path)), "a temp file was left behind")
			} else {
				assert.Empty(t, dirNames(t, filepath.Dir(s.path)), "a temp file was left behind")
			}
			tests, reloads := s.nginx.counts()
			assert.Equal(t, tt.wantTests, tests, "test runs")
			assert.Equal(t, tt.wantReloads, reloads, "reload runs")
		})
	}
}

// TestSwitchRestoresEvenWhenCancelled: a deploy cancelled while waiting for
// the confirmation must still put the previous include back.
func TestSwitchRestoresEvenWhenCancelled(t *testing.T) {
	t.Parallel()
	s := newFakeSetup(t, oldInclude)
	s.sw.ConfirmTimeout = 10 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.nginx.onReload = func(_ context.Context, n int) error {
		if n == 1 {
			cancel() // cancelled right after the signal; nothing confirms
			return nil
		}
		s.respawn(n)
		return nil
	}
	_, err := s.sw.Switch(ctx, []byte(newInclude))
	require.ErrorIs(t, err, ErrReloadNotConfirmed)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrRestoreFailed)
	assert.Equal(t, oldInclude, s.include(t))
	s.nginx.mu.Lock()
	defer s.nginx.mu.Unlock()
	// test, reload (then cancelled), restore's test and reload run uncancelled
	assert.Equal(t, []error{nil, nil, nil, nil}, s.nginx.ctxErrs)
}

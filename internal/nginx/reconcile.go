package nginx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat start times. It is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// Pending reports whether the include on disk is newer than the config
// nginx last loaded: it was written, but no reload followed (a deploy
// killed between its write and its reload). nginx then still serves what
// the previous include said, and the live color read from the file would
// be wrong. The evidence is the include's modification time against the
// start time of the newest worker of the nginx that ReloadCmd addresses:
// workers start when a config is loaded. ok is false when nginx cannot be
// observed, and then pending is meaningless.
func (s *Switcher) Pending() (pending, ok bool, why string) {
	st, err := os.Stat(s.IncludePath)
	if err != nil {
		return false, false, "include not readable"
	}
	procfs := s.procfs()
	masters, err := scanNginx(procfs)
	if err != nil || len(masters) == 0 {
		return false, false, "no nginx master visible"
	}
	// Ages come from the kernel's own clock (uptime and start ticks), so
	// that the boot time's rounding cannot make a worker look older or
	// younger than it is; only "now" is taken from the wall clock, like the
	// file's modification time.
	up, err := uptime(procfs)
	if err != nil {
		return false, false, err.Error()
	}
	now := time.Now()
	var newest time.Time
	for _, m := range s.targets(masters) {
		for _, w := range m.Workers {
			age := up - time.Duration(w.StartTime)*time.Second/clockTicks
			started := now.Add(-age)
			if started.After(newest) {
				newest = started
			}
		}
	}
	if newest.IsZero() {
		return false, false, "no nginx worker visible"
	}
	// Start times have a resolution of 10 ms; allow for it.
	if st.ModTime().After(newest.Add(50 * time.Millisecond)) {
		return true, true, fmt.Sprintf("%s was written at %s, after nginx's workers started at %s, and no reload followed",
			s.IncludePath, st.ModTime().UTC().Format("15:04:05.000"), newest.UTC().Format("15:04:05.000"))
	}
	return false, true, "nginx's workers started after the include was written"
}

// uptime reads the time since boot from procfs.
func uptime(procfs string) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(procfs, "uptime"))
	if err != nil {
		return 0, fmt.Errorf("failed to read uptime: %w", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, fmt.Errorf("failed to read uptime: empty %s/uptime", procfs)
	}
	secs, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, fmt.Errorf("failed to read uptime: %w", err)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// RemoveStaleTemps removes temp files a killed deploy left next to the
// include (the atomic write's ".<name>.bluegreen-*"). Call it only while
// holding the deploy lock, so that no write of ours is under way.
func (s *Switcher) RemoveStaleTemps() ([]string, error) {
	dir, base := filepath.Split(s.IncludePath)
	matches, err := filepath.Glob(filepath.Join(dir, "."+base+".bluegreen-*"))
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, m := range matches {
		if err := os.Remove(m); err != nil && !os.IsNotExist(err) {
			return removed, fmt.Errorf("failed to remove stale temp file %s: %w", m, err)
		}
		removed = append(removed, m)
	}
	return removed, nil
}

// ShutdownTimeoutSet reports whether nginx's full config sets
// worker_shutdown_timeout. Without it a WebSocket or long poll keeps an
// old worker, and so the old color, in use until the drain's cap.
// It reads the config Preflight dumped, when it did.
func (s *Switcher) ShutdownTimeoutSet(ctx context.Context) (bool, error) {
	if s.dumped != nil {
		return shutdownTimeoutIn(*s.dumped), nil
	}
	return WorkerShutdownTimeoutSet(ctx, s.run, s.TestCmd)
}

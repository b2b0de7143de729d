package nginx

import (
	"bufio"
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
	boot, err := bootTime(procfs)
	if err != nil {
		return false, false, err.Error()
	}
	var newest time.Time
	for _, m := range s.targets(masters) {
		for _, w := range m.Workers {
			started := boot.Add(time.Duration(w.StartTime) * time.Second / clockTicks)
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

// bootTime reads the boot time from procfs's stat file.
func bootTime(procfs string) (time.Time, error) {
	f, err := os.Open(filepath.Join(procfs, "stat"))
	if err != nil {
		return time.Time{}, fmt.Errorf("failed to read boot time: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("failed to read boot time: %w", err)
			}
			return time.Unix(secs, 0), nil
		}
	}
	return time.Time{}, fmt.Errorf("failed to read boot time: no btime line in %s/stat", procfs)
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

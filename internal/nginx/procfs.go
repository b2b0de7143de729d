package nginx

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DefaultProcfs is where the kernel's process table is mounted.
const DefaultProcfs = "/proc"

// Process identifies a process across PID reuse: a PID alone could be
// recycled by an unrelated process while a drain waits for it to exit.
type Process struct {
	PID       int
	StartTime uint64 // clock ticks after boot, field 22 of /proc/<pid>/stat
}

func (p Process) String() string { return strconv.Itoa(p.PID) }

// procInfo is one process as read from procfs.
type procInfo struct {
	Process
	PPID    int
	State   byte
	Cmdline string
}

const (
	masterTitle = "nginx: master process"
	workerTitle = "nginx: worker process"
)

// master is an nginx master and the workers it had when it was observed.
type master struct {
	procInfo
	Workers []Process
}

// readCmdline returns a process's command line with NULs as spaces. nginx
// rewrites its argv to titles such as "nginx: worker process", padded
// with NULs, which this trims.
func readCmdline(procfs string, pid int) (string, error) {
	b, err := os.ReadFile(filepath.Join(procfs, strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))), nil
}

// readStat reads the state, parent and start time of a process.
func readStat(procfs string, pid int) (procInfo, error) {
	b, err := os.ReadFile(filepath.Join(procfs, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procInfo{}, err
	}
	return parseStat(pid, b)
}

// parseStat parses /proc/<pid>/stat. The command name in parentheses may
// itself hold spaces and parentheses, so fields are counted after the last
// ')'.
func parseStat(pid int, b []byte) (procInfo, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procInfo{}, fmt.Errorf("failed to parse stat of pid %d: no ')' in %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), f[1] field 4 (ppid), f[19] field 22 (starttime).
	if len(f) < 20 || len(f[0]) != 1 {
		return procInfo{}, fmt.Errorf("failed to parse stat of pid %d: %d fields after the name", pid, len(f))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procInfo{}, fmt.Errorf("failed to parse ppid of pid %d: %w", pid, err)
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procInfo{}, fmt.Errorf("failed to parse start time of pid %d: %w", pid, err)
	}
	return procInfo{Process: Process{PID: pid, StartTime: start}, PPID: ppid, State: f[0][0]}, nil
}

// scanNginx lists the nginx masters visible in procfs, each with its
// workers, including old workers still shutting down. Processes that exit
// during the scan are skipped; only an unreadable procfs is an error.
func scanNginx(procfs string) ([]master, error) {
	entries, err := os.ReadDir(procfs)
	if err != nil {
		return nil, fmt.Errorf("failed to list processes in %s: %w", procfs, err)
	}
	var masters []master
	var workers []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		cmd, err := readCmdline(procfs, pid)
		if err != nil || !strings.HasPrefix(cmd, "nginx: ") {
			continue
		}
		isMaster, isWorker := strings.HasPrefix(cmd, masterTitle), strings.HasPrefix(cmd, workerTitle)
		if !isMaster && !isWorker {
			continue // cache manager and loader do not proxy requests
		}
		p, err := readStat(procfs, pid)
		if err != nil || p.State == 'Z' || p.State == 'X' {
			continue
		}
		p.Cmdline = cmd
		if isMaster {
			masters = append(masters, master{procInfo: p})
		} else {
			workers = append(workers, p)
		}
	}
	for i := range masters {
		for _, w := range workers {
			if w.PPID == masters[i].PID {
				masters[i].Workers = append(masters[i].Workers, w.Process)
			}
		}
	}
	sort.Slice(masters, func(i, j int) bool { return masters[i].PID < masters[j].PID })
	return masters, nil
}

// alive reports whether p still runs (not exited, not a zombie, not a new
// process that reused its PID).
func alive(procfs string, p Process) bool {
	st, err := readStat(procfs, p.PID)
	return err == nil && st.StartTime == p.StartTime && st.State != 'Z' && st.State != 'X'
}

// nginxIdentity reads which nginx instance a command line addresses: the
// config file given with -c (resolved against -p), or the prefix when the
// compiled-in config is used. It finds the nginx binary anywhere in args,
// so "docker exec web nginx -s reload" works too. ok is false when args
// run no nginx binary (for example a wrapper script).
func nginxIdentity(args []string) (key string, ok bool) {
	start := -1
	for i, a := range args {
		if b := filepath.Base(a); b == "nginx" || strings.HasPrefix(b, "nginx-") {
			start = i
			break
		}
	}
	if start < 0 {
		return "", false
	}
	var prefix, conf string
	rest := args[start+1:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		flag, val := a[1], a[2:]
		switch flag {
		case 'p', 'c', 'g', 's', 'e':
			if val == "" && i+1 < len(rest) {
				i++
				val = rest[i]
			}
			switch flag {
			case 'p':
				prefix = val
			case 'c':
				conf = val
			}
		}
	}
	if conf == "" {
		return "default@" + filepath.Clean("/"+prefix), true
	}
	if !filepath.IsAbs(conf) && prefix != "" {
		conf = filepath.Join(prefix, conf)
	}
	return "conf@" + filepath.Clean(conf), true
}

// masterIdentity is nginxIdentity for a master's title, which nginx makes
// from its original argv joined with spaces.
func masterIdentity(cmdline string) string {
	key, _ := nginxIdentity(append([]string{"nginx"}, strings.Fields(strings.TrimPrefix(cmdline, masterTitle))...))
	return key
}

// errorLog returns the file a master logs errors to and its size. nginx
// points its stderr (fd 2) at the main error_log file, which lets a failed
// reload be explained with the master's own [emerg] lines without knowing
// the config.
func errorLog(procfs string, pid int) (path string, size int64, ok bool) {
	fd := filepath.Join(procfs, strconv.Itoa(pid), "fd", "2")
	fi, err := os.Stat(fd)
	if err != nil || !fi.Mode().IsRegular() {
		return "", 0, false
	}
	path, err = os.Readlink(fd)
	if err != nil {
		path = fd
	}
	return path, fi.Size(), true
}

// errorLogSince returns the last few [emerg], [alert] and [crit] lines a
// master wrote after offset.
func errorLogSince(procfs string, pid int, offset int64) []string {
	f, err := os.Open(filepath.Join(procfs, strconv.Itoa(pid), "fd", "2"))
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	var lines []string
	var counts []int
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		l := sc.Text()
		if !strings.Contains(l, "[emerg]") && !strings.Contains(l, "[alert]") && !strings.Contains(l, "[crit]") {
			continue
		}
		if n := len(lines); n > 0 && lines[n-1] == l { // bind() is retried 5 times
			counts[n-1]++
			continue
		}
		lines, counts = append(lines, l), append(counts, 1)
	}
	for i := range lines {
		if counts[i] > 1 {
			lines[i] += fmt.Sprintf(" (%d times)", counts[i])
		}
	}
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return lines
}

// socketOwners maps socket inodes to the PIDs among pids holding them.
// readable is false when no fd directory could be read (no permission),
// in which case sockets cannot be attributed at all.
func socketOwners(procfs string, pids []int) (owners map[uint64]int, readable bool) {
	owners = map[uint64]int{}
	for _, pid := range pids {
		dir := filepath.Join(procfs, strconv.Itoa(pid), "fd")
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		readable = true
		for _, e := range entries {
			link, err := os.Readlink(filepath.Join(dir, e.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			inode, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64)
			if err == nil {
				owners[inode] = pid
			}
		}
	}
	return owners, readable
}

package nginx

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeProcfs is a procfs tree in a temp directory, shaped like the
// kernel's for the files this package reads: <pid>/cmdline, <pid>/stat,
// <pid>/fd/*, <pid>/ns/net, <pid>/net/tcp{,6} and net/tcp{,6}.
type fakeProcfs struct {
	t    testing.TB
	root string
	mu   sync.Mutex
}

func newFakeProcfs(t testing.TB) *fakeProcfs {
	t.Helper()
	f := &fakeProcfs{t: t, root: t.TempDir()}
	require.NoError(t, os.MkdirAll(filepath.Join(f.root, "net"), 0o755))
	return f
}

func (f *fakeProcfs) dir(pid int) string { return filepath.Join(f.root, strconv.Itoa(pid)) }

// add creates a process. nginx pads its titles with NULs, as here.
func (f *fakeProcfs) add(pid, ppid int, start uint64, title string) Process {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dir(pid)
	require.NoError(f.t, os.MkdirAll(filepath.Join(d, "fd"), 0o755))
	require.NoError(f.t, os.WriteFile(filepath.Join(d, "cmdline"), []byte(title+strings.Repeat("\x00", 12)), 0o644))
	f.writeStat(pid, ppid, start, 'S')
	return Process{PID: pid, StartTime: start}
}

func (f *fakeProcfs) writeStat(pid, ppid int, start uint64, state byte) {
	fields := make([]string, 50)
	for i := range fields {
		fields[i] = "0"
	}
	fields[0] = string(state)      // field 3
	fields[1] = strconv.Itoa(ppid) // field 4
	fields[19] = fmt.Sprint(start) // field 22
	stat := fmt.Sprintf("%d (nginx: a) b) %s\n", pid, strings.Join(fields, " "))
	require.NoError(f.t, os.WriteFile(filepath.Join(f.dir(pid), "stat"), []byte(stat), 0o644))
}

// zombie turns pid into a zombie, as an exited worker is until its master
// reaps it.
func (f *fakeProcfs) zombie(pid, ppid int, start uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeStat(pid, ppid, start, 'Z')
}

func (f *fakeProcfs) remove(pid int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NoError(f.t, os.RemoveAll(f.dir(pid)))
}

// socket gives pid an fd for the socket inode.
func (f *fakeProcfs) socket(pid, fd int, inode uint64) {
	f.t.Helper()
	require.NoError(f.t, os.Symlink(fmt.Sprintf("socket:[%d]", inode), filepath.Join(f.dir(pid), "fd", strconv.Itoa(fd))))
}

// errorLog points pid's stderr at a log file, as nginx does with its
// error_log, and returns the file's path.
func (f *fakeProcfs) errorLog(pid int) string {
	f.t.Helper()
	log := filepath.Join(f.root, fmt.Sprintf("error-%d.log", pid))
	require.NoError(f.t, os.WriteFile(log, []byte("2024/06/30 10:00:00 [notice] 1#1: start worker processes\n"), 0o644))
	require.NoError(f.t, os.Symlink(log, filepath.Join(f.dir(pid), "fd", "2")))
	return log
}

// tcp writes a net/tcp table (under pid's net directory when pid > 0).
func (f *fakeProcfs) tcp(pid int, name string, rows ...string) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := filepath.Join(f.root, "net")
	if pid > 0 {
		dir = filepath.Join(f.dir(pid), "net")
	}
	require.NoError(f.t, os.MkdirAll(dir, 0o755))
	text := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	for i, r := range rows {
		text += fmt.Sprintf("%4d: %s\n", i, r)
	}
	require.NoError(f.t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
}

// tcpRow makes one row: addresses in the kernel's hex form.
func tcpRow(local, remote string, state byte, inode uint64) string {
	return fmt.Sprintf("%s %s %02X 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000000000000 20 4 30 10 -1",
		local, remote, state, inode)
}

package nginx

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultDrainTimeout caps the drain; 30 s is what kamal-proxy, Kamal and
// Argo Rollouts use before they stop a replaced target.
const DefaultDrainTimeout = 30 * time.Second

// DrainResult says how the drain ended, for the log and the job summary.
type DrainResult struct {
	// Waited is how long the drain took.
	Waited time.Duration
	// TimedOut is true when the cap was hit with traffic still open.
	TimedOut bool
	// StillOpen names what was still open at the end, for example
	// "nginx worker pid 123 (old)" or "2 connections to 127.0.0.1:8081".
	StillOpen []string
	// OldConnections is how many established connections to the old color
	// nginx still held when the drain ended: long-lived ones (WebSockets,
	// server-sent events) that the old color's stop then cuts, for the
	// summary. 0 when the drain watched no upstream.
	OldConnections int
	// OldWorkers is how many of nginx's old workers were still running.
	OldWorkers int
}

// Drain waits until the old nginx workers of r have exited and no
// established TCP connection to oldUpstream ("127.0.0.1:8081"; "" skips
// the check) remains, polling every 20 ms, at most timeout. Old workers
// keep proxying in-flight requests to the old color after a reload, so
// stopping the old color before they finish drops requests; waiting on
// evidence instead of a fixed sleep returns at once when nothing is in
// flight. Hitting the cap is not an error: TimedOut and StillOpen say
// what was still open, and the deploy decides. Only a cancelled ctx or an
// unreadable procfs returns an error.
//
// When r observed the reload, only connections held by processes of the
// reloaded masters count, so a health checker's idle keep-alive
// connection to the old color does not hold the drain; otherwise every
// established connection to oldUpstream in the namespace counts.
func Drain(ctx context.Context, r *Reload, oldUpstream string, timeout time.Duration) (DrainResult, error) {
	start := time.Now()
	procfs := DefaultProcfs
	if r != nil && r.Procfs != "" {
		procfs = r.Procfs
	}
	var up *upstream
	if oldUpstream != "" {
		u, err := resolveUpstream(ctx, oldUpstream)
		if err != nil {
			return DrainResult{}, fmt.Errorf("failed to drain nginx: %w", err)
		}
		up = u
	}
	for {
		still, workers, conns, err := stillOpen(procfs, r, up)
		res := DrainResult{Waited: time.Since(start), StillOpen: still, OldWorkers: workers, OldConnections: conns}
		if err != nil {
			return res, fmt.Errorf("failed to drain nginx: %w", err)
		}
		if len(still) == 0 {
			return res, nil
		}
		left := timeout - res.Waited
		if left <= 0 {
			res.TimedOut = true
			return res, nil
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("failed to drain nginx: %w", ctx.Err())
		case <-time.After(min(pollInterval, left)):
		}
	}
}

// upstream is the old color's address, with a host name resolved once.
type upstream struct {
	text string
	ips  []net.IP
	port int
}

func resolveUpstream(ctx context.Context, hostport string) (*upstream, error) {
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, fmt.Errorf("failed to parse old upstream %q (want host:port): %w", hostport, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("failed to parse old upstream %q: port %q is not a number from 1 to 65535", hostport, portText)
	}
	u := &upstream{text: hostport, port: port}
	if ip := net.ParseIP(host); ip != nil {
		u.ips = []net.IP{ip}
		return u, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("failed to resolve old upstream %q: %w", hostport, err)
	}
	for _, a := range addrs {
		u.ips = append(u.ips, a.IP)
	}
	return u, nil
}

func (u *upstream) matches(a net.TCPAddr) bool {
	if a.Port != u.port {
		return false
	}
	for _, ip := range u.ips {
		if ip.Equal(a.IP) {
			return true
		}
	}
	return false
}

// stillOpen lists what keeps the old color in use, with the number of old
// workers and of connections to the old color among it.
func stillOpen(procfs string, r *Reload, up *upstream) (still []string, workers, conns int, err error) {
	observed := r != nil && r.Observed
	if observed {
		for _, w := range r.OldWorkers {
			if alive(procfs, w) {
				still = append(still, fmt.Sprintf("nginx worker pid %d (old)", w.PID))
				workers++
			}
		}
	}
	if up == nil {
		return still, workers, 0, nil
	}
	n, err := upstreamConns(procfs, r, up)
	if err != nil {
		return still, workers, 0, err
	}
	if n == 1 {
		still = append(still, "1 connection to "+up.text)
	} else if n > 1 {
		still = append(still, fmt.Sprintf("%d connections to %s", n, up.text))
	}
	return still, workers, n, nil
}

// upstreamConns counts established connections to up. It reads the
// network namespace of the reloaded masters (nginx may run in a container
// with its own), falling back to procfs/net.
func upstreamConns(procfs string, r *Reload, up *upstream) (int, error) {
	observed := r != nil && r.Observed
	var dirs []string
	if observed {
		seen := map[string]bool{}
		for _, m := range r.Masters {
			if !alive(procfs, m) {
				continue
			}
			pidDir := filepath.Join(procfs, strconv.Itoa(m.PID))
			ns, err := os.Readlink(filepath.Join(pidDir, "ns", "net"))
			if err != nil {
				ns = pidDir
			}
			if !seen[ns] {
				seen[ns] = true
				dirs = append(dirs, filepath.Join(pidDir, "net"))
			}
		}
	}
	if len(dirs) == 0 {
		dirs = []string{filepath.Join(procfs, "net")}
	}
	var open []tcpConn
	for _, d := range dirs {
		conns, err := readTCP(d, tcpEstablished)
		if err != nil {
			return 0, err
		}
		for _, c := range conns {
			if c.State == tcpEstablished && up.matches(c.Remote) {
				open = append(open, c)
			}
		}
	}
	if len(open) == 0 || !observed {
		return len(open), nil
	}
	owners, readable := socketOwners(procfs, nginxPIDs(procfs, r))
	if !readable {
		return len(open), nil // cannot attribute sockets: count them all
	}
	n := 0
	for _, c := range open {
		if _, ok := owners[c.Inode]; ok {
			n++
		}
	}
	return n, nil
}

// nginxPIDs lists the reloaded masters and all their current workers.
func nginxPIDs(procfs string, r *Reload) []int {
	var pids []int
	for _, m := range r.Masters {
		pids = append(pids, m.PID)
	}
	for _, w := range r.OldWorkers {
		pids = append(pids, w.PID)
	}
	if masters, err := scanNginx(procfs); err == nil {
		for _, m := range masters {
			if containsProc(r.Masters, m.Process) {
				for _, w := range m.Workers {
					if !containsProc(r.OldWorkers, w) {
						pids = append(pids, w.PID)
					}
				}
			}
		}
	}
	return pids
}

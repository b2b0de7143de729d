package compose

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// What holds a host port that no container publishes: the host's own
// sockets, read from procfs. A listening server is the obvious case; the
// other is an outgoing connection whose local port the kernel picked from
// the ephemeral range (ip_local_port_range), which blocks a bind to that
// port just as well, comes and goes, and has nothing to stop.

// socketUse is one host socket bound to a local port.
type socketUse struct {
	Proto, Local, Remote, State string
	Inode                       string
	Process                     string // "pid 123 (curl)", or "" when not found
}

func (u socketUse) listening() bool {
	return u.State == "LISTEN" || (u.Proto == "udp" && u.Remote == "")
}

// tcpStates are the kernel's TCP state numbers (include/net/tcp_states.h).
var tcpStates = map[string]string{
	"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
	"06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
}

// socketsOnPort lists the sockets of the host's network namespace (as
// procfs shows it) whose local port is port, with the process that owns
// each where it can be found.
func socketsOnPort(procfs string, port uint16, proto string) []socketUse {
	var out []socketUse
	for _, file := range []string{proto, proto + "6"} {
		f, err := os.Open(filepath.Join(procfs, "net", file))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 {
				continue
			}
			local, lport, ok := parseProcAddr(fields[1])
			if !ok || lport != port {
				continue
			}
			remote, rport, _ := parseProcAddr(fields[2])
			u := socketUse{Proto: proto, Local: net.JoinHostPort(local, strconv.Itoa(int(lport))), State: tcpStates[fields[3]], Inode: fields[9]}
			if rport != 0 {
				u.Remote = net.JoinHostPort(remote, strconv.Itoa(int(rport)))
			}
			if proto == "udp" {
				u.State = ""
			}
			out = append(out, u)
		}
		f.Close()
	}
	owners := socketOwners(procfs, out)
	for i := range out {
		out[i].Process = owners[out[i].Inode]
	}
	return out
}

// parseProcAddr reads "0100007F:1F90" (IPv4) or the 32-digit IPv6 form;
// procfs writes each 32-bit word in the host's byte order (little-endian
// on the hosts we run on).
func parseProcAddr(s string) (string, uint16, bool) {
	addr, portHex, ok := strings.Cut(s, ":")
	if !ok {
		return "", 0, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return "", 0, false
	}
	raw, err := hex.DecodeString(addr)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return "", 0, false
	}
	ip := make(net.IP, len(raw))
	for w := 0; w < len(raw); w += 4 {
		for b := 0; b < 4; b++ {
			ip[w+b] = raw[w+3-b]
		}
	}
	return ip.String(), uint16(port), true
}

// maxOwnerScan bounds how many processes socketOwners looks at.
const maxOwnerScan = 4096

// socketOwners maps socket inodes to "pid N (comm)" by reading each
// process's fd links; on a host with many processes it gives up after
// maxOwnerScan, and processes it may not read are passed over.
func socketOwners(procfs string, uses []socketUse) map[string]string {
	want := map[string]bool{}
	for _, u := range uses {
		if u.Inode != "" && u.Inode != "0" {
			want["socket:["+u.Inode+"]"] = true
		}
	}
	owners := map[string]string{}
	if len(want) == 0 {
		return owners
	}
	entries, err := os.ReadDir(procfs)
	if err != nil {
		return owners
	}
	scanned := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if scanned++; scanned > maxOwnerScan || len(owners) == len(want) {
			break
		}
		fdDir := filepath.Join(procfs, e.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !want[link] {
				continue
			}
			inode := strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")
			if _, seen := owners[inode]; seen {
				continue
			}
			comm, _ := os.ReadFile(filepath.Join(procfs, e.Name(), "comm"))
			owners[inode] = fmt.Sprintf("pid %d (%s)", pid, strings.TrimSpace(string(comm)))
		}
	}
	return owners
}

// ephemeralRange reads the kernel's range of local ports for outgoing
// connections.
func ephemeralRange(procfs string) (lo, hi int, ok bool) {
	b, err := os.ReadFile(filepath.Join(procfs, "sys", "net", "ipv4", "ip_local_port_range"))
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	return lo, hi, err1 == nil && err2 == nil
}

// describeHostHolder says what on the host holds port (not a container):
// a listening process, or an outgoing connection, or, when procfs shows
// nothing (the socket closed meanwhile), how to look.
func describeHostHolder(procfs string, b hostBinding) string {
	uses := socketsOnPort(procfs, b.Port, b.Proto)
	sort.SliceStable(uses, func(i, j int) bool { return uses[i].listening() && !uses[j].listening() })
	flags := "ltnp"
	if b.Proto == "udp" {
		flags = "lunp"
	}
	ss := fmt.Sprintf("`ss -%s 'sport = :%d'`", flags, b.Port)
	if len(uses) == 0 {
		return fmt.Sprintf("which a process on the host (not a container) is listening on: find it with %s and stop it, or publish another host port", ss)
	}
	u := uses[0]
	owner := ""
	if u.Process != "" {
		owner = ", " + u.Process
	}
	if u.listening() {
		return fmt.Sprintf("which a process on the host (not a container) is listening on (%s%s): stop it (find it with %s), or publish another host port", u.Local, owner, ss)
	}
	msg := fmt.Sprintf("which an outgoing connection on the host holds, not a listening process (%s -> %s, %s%s)", u.Local, u.Remote, u.State, owner)
	if lo, hi, ok := ephemeralRange(procfs); ok && int(b.Port) >= lo && int(b.Port) <= hi {
		msg += fmt.Sprintf(": port %d is in the host's ephemeral port range (%d-%d), from which the kernel picks the local port of every outgoing connection, so any connection may take it at any moment; "+
			"publish a host port outside that range, or reserve this one with sysctl -w net.ipv4.ip_local_reserved_ports=%d", b.Port, lo, hi, b.Port)
	} else {
		msg += ": wait for the connection to close, or publish another host port"
	}
	return msg
}

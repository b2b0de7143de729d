package nginx

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tcpConn is one row of /proc/net/tcp or tcp6.
type tcpConn struct {
	Local, Remote net.TCPAddr
	State         byte // 0x01 is ESTABLISHED
	Inode         uint64
}

const tcpEstablished = 0x01

// readTCP reads the TCP sockets of one network namespace from a net
// directory (…/net or …/<pid>/net) that are in state (0: every socket).
// A missing tcp6 (IPv6 disabled) is not an error.
func readTCP(netDir string, state byte) ([]tcpConn, error) {
	var all []tcpConn
	for _, name := range []string{"tcp", "tcp6"} {
		f, err := os.Open(filepath.Join(netDir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read TCP sockets: %w", err)
		}
		conns, err := parseTCPState(f, state)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("failed to parse %s: %w", filepath.Join(netDir, name), err)
		}
		all = append(all, conns...)
	}
	return all, nil
}

// parseTCP parses the kernel's table of TCP sockets.
func parseTCP(r io.Reader) ([]tcpConn, error) { return parseTCPState(r, 0) }

// parseTCPState parses the sockets of the kernel's table that are in
// state (0: every socket). The drain reads the table every 20 ms, and on
// a host under load it holds thousands of sockets in TIME_WAIT (one for
// each closed client connection, for a minute): a line in another state
// is passed over from its bytes, before anything is allocated for it.
// Parsing every line into strings and addresses made the drain allocate
// megabytes a poll, which raised the action's peak RSS from 25 to 33 MB
// under load (go run ./cmd/bench -memprofile, alloc_space: parseTCP and
// readTCP were 41% of all the bytes allocated, the load generator's
// included).
func parseTCPState(r io.Reader, state byte) ([]tcpConn, error) {
	var conns []tcpConn
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		if state != 0 {
			if st, ok := lineState(sc.Bytes()); ok && st != state {
				continue
			}
		}
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		local, err := parseHexAddr(f[1])
		if err != nil {
			return nil, err
		}
		remote, err := parseHexAddr(f[2])
		if err != nil {
			return nil, err
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("failed to parse socket state %q: %w", f[3], err)
		}
		if state != 0 && byte(st) != state {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("failed to parse socket inode %q: %w", f[9], err)
		}
		conns = append(conns, tcpConn{Local: local, Remote: remote, State: byte(st), Inode: inode})
	}
	return conns, sc.Err()
}

// lineState reads the state (the fourth field, two hex digits) of a line
// of the table without allocating; ok is false when it is not there, and
// the line is then parsed in full (and its error reported).
func lineState(line []byte) (st byte, ok bool) {
	field := 0
	for i := 0; i < len(line); {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		start := i
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			i++
		}
		if start == i {
			break
		}
		if field == 3 {
			if i-start != 2 {
				return 0, false
			}
			hi, ok1 := unhex(line[start])
			lo, ok2 := unhex(line[start+1])
			return hi<<4 | lo, ok1 && ok2
		}
		field++
	}
	return 0, false
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseHexAddr parses "0100007F:1F91". The kernel prints the address as
// 32-bit words in host byte order, so each word is put back into memory
// order with the native endianness.
func parseHexAddr(s string) (net.TCPAddr, error) {
	host, port, ok := strings.Cut(s, ":")
	if !ok || (len(host) != 8 && len(host) != 32) {
		return net.TCPAddr{}, fmt.Errorf("failed to parse socket address %q", s)
	}
	raw, err := hex.DecodeString(host)
	if err != nil {
		return net.TCPAddr{}, fmt.Errorf("failed to parse socket address %q: %w", s, err)
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(ip[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	p, err := strconv.ParseUint(port, 16, 16)
	if err != nil {
		return net.TCPAddr{}, fmt.Errorf("failed to parse socket port %q: %w", s, err)
	}
	return net.TCPAddr{IP: ip, Port: int(p)}, nil
}

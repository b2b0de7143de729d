package nginx

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hexAddr writes ip:port the way the kernel prints it in /proc/net/tcp:
// 32-bit words of the address in host byte order.
func hexAddr(ip string, port int) string {
	parsed := net.ParseIP(ip)
	raw := []byte(parsed.To4())
	if raw == nil {
		raw = []byte(parsed.To16())
	}
	var b strings.Builder
	for i := 0; i < len(raw); i += 4 {
		fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(raw[i:]))
	}
	return fmt.Sprintf("%s:%04X", b.String(), port)
}

func TestParseStat(t *testing.T) {
	t.Parallel()
	// A real line from an nginx worker, and a name holding ") ".
	real := "12553 (nginx) S 12551 12546 8816 0 -1 4194624 219 0 2 0 0 0 0 0 20 0 1 0 46839 12529664 1039 18446744073709551615 1 1 0 0 0 0 0 1073745920 402745863 1 0 0 17 0 0 0 0 0 0"
	p, err := parseStat(12553, []byte(real))
	require.NoError(t, err)
	assert.Equal(t, procInfo{Process: Process{PID: 12553, StartTime: 46839}, PPID: 12551, State: 'S'}, p)

	p, err = parseStat(7, []byte("7 (a) b (c)) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0"))
	require.NoError(t, err)
	assert.Equal(t, byte('Z'), p.State)
	assert.Equal(t, uint64(99), p.StartTime)

	_, err = parseStat(7, []byte("7 (a) S 1"))
	assert.ErrorContains(t, err, "failed to parse stat of pid 7")
}

func TestScanNginx(t *testing.T) {
	t.Parallel()
	fs := newFakeProcfs(t)
	fs.add(1, 0, 1, "/sbin/init")
	fs.add(100, 1, 500, "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;")
	fs.add(101, 100, 510, "nginx: worker process")
	fs.add(102, 100, 510, "nginx: worker process is shutting down")
	fs.add(103, 100, 510, "nginx: cache manager process")
	fs.add(104, 100, 510, "nginx: worker process")
	fs.zombie(104, 100, 510)
	fs.add(200, 1, 600, "nginx: master process nginx -p /tmp/x -c /tmp/x/nginx.conf")
	fs.add(201, 200, 610, "nginx: worker process")
	fs.add(300, 1, 700, "vim nginx.conf")

	masters, err := scanNginx(fs.root)
	require.NoError(t, err)
	require.Len(t, masters, 2)
	assert.Equal(t, Process{PID: 100, StartTime: 500}, masters[0].Process)
	assert.Equal(t, []Process{{101, 510}, {102, 510}}, masters[0].Workers, "cache manager and zombie are not workers")
	assert.Equal(t, Process{PID: 200, StartTime: 600}, masters[1].Process)
	assert.Equal(t, []Process{{201, 610}}, masters[1].Workers)

	assert.True(t, alive(fs.root, Process{101, 510}))
	assert.False(t, alive(fs.root, Process{101, 999}), "a reused PID is not the same process")
	assert.False(t, alive(fs.root, Process{104, 510}), "a zombie has exited")
	assert.False(t, alive(fs.root, Process{105, 510}))

	_, err = scanNginx(fs.root + "/missing")
	assert.ErrorContains(t, err, "failed to list processes")
}

func TestNginxIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		key  string
		ok   bool
	}{
		{[]string{"nginx", "-s", "reload"}, "default@/", true},
		{[]string{"/usr/sbin/nginx", "-p", "/tmp/x", "-c", "/tmp/x/nginx.conf", "-s", "reload"}, "conf@/tmp/x/nginx.conf", true},
		{[]string{"nginx", "-p/tmp/x", "-cnginx.conf", "-t"}, "conf@/tmp/x/nginx.conf", true},
		{[]string{"nginx", "-p", "/tmp/x", "-t"}, "default@/tmp/x", true},
		{[]string{"docker", "exec", "web", "nginx", "-s", "reload"}, "default@/", true},
		{[]string{"sudo", "nginx", "-g", "pid /run/x.pid;", "-c", "/etc/nginx/nginx.conf", "-s", "reload"}, "conf@/etc/nginx/nginx.conf", true},
		{[]string{"/usr/local/bin/reload-proxy.sh"}, "", false},
	}
	for _, tt := range tests {
		key, ok := nginxIdentity(tt.args)
		assert.Equal(t, tt.ok, ok, "%q", tt.args)
		assert.Equal(t, tt.key, key, "%q", tt.args)
	}
	// Master titles are the original argv joined by spaces.
	assert.Equal(t, "conf@/tmp/x/nginx.conf", masterIdentity("nginx: master process /usr/sbin/nginx -p /tmp/x -c /tmp/x/nginx.conf"))
	assert.Equal(t, "default@/", masterIdentity("nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"))
	assert.Equal(t, "default@/", masterIdentity("nginx: master process nginx -g daemon off;"))
}

func TestParseTCP(t *testing.T) {
	t.Parallel()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the literal rows below are what a little-endian kernel prints")
	}
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:C350 0100007F:1F91 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1
`
	conns, err := parseTCP(strings.NewReader(table))
	require.NoError(t, err)
	require.Len(t, conns, 2)
	assert.Equal(t, "127.0.0.1:8081", conns[0].Local.String())
	assert.Equal(t, byte(0x0A), conns[0].State)
	assert.Equal(t, "127.0.0.1:50000", conns[1].Local.String())
	assert.Equal(t, "127.0.0.1:8081", conns[1].Remote.String())
	assert.Equal(t, byte(tcpEstablished), conns[1].State)
	assert.Equal(t, uint64(1002), conns[1].Inode)

	table6 := `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:C350 0000000000000000FFFF00000100007F:1F92 01 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 20 4 30 10 -1
   1: 00000000000000000000000001000000:C351 00000000000000000000000001000000:1F92 01 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 20 4 30 10 -1
`
	conns, err = parseTCP(strings.NewReader(table6))
	require.NoError(t, err)
	require.Len(t, conns, 2)
	up := &upstream{ips: []net.IP{net.ParseIP("127.0.0.1")}, port: 8082}
	assert.True(t, up.matches(conns[0].Remote), "a v4-mapped address in tcp6 is the IPv4 upstream")
	assert.Equal(t, "[::1]:8082", conns[1].Remote.String())

	_, err = parseTCP(strings.NewReader("header\n 0: zz:1 00:0 01 0 0 0 0 0 0 1\n"))
	assert.ErrorContains(t, err, "failed to parse socket address")
}

// TestReadTCPFindsARealConnection proves the byte-order handling against
// the running kernel: a connection this test opens must be found.
func TestReadTCPFindsARealConnection(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			defer c.Close()
			_, _ = c.Read(make([]byte, 1))
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()

	conns, err := readTCP("/proc/self/net", 0)
	require.NoError(t, err)
	var found bool
	for _, k := range conns {
		if k.State == tcpEstablished && k.Remote.String() == ln.Addr().String() && k.Local.String() == c.LocalAddr().String() {
			found = true
		}
	}
	assert.True(t, found, "connection %s -> %s not found in /proc/self/net/tcp", c.LocalAddr(), ln.Addr())
}

func TestSocketOwners(t *testing.T) {
	t.Parallel()
	fs := newFakeProcfs(t)
	fs.add(10, 1, 1, "nginx: worker process")
	fs.socket(10, 5, 777)
	fs.socket(10, 6, 778)
	owners, readable := socketOwners(fs.root, []int{10, 11})
	assert.True(t, readable)
	assert.Equal(t, map[uint64]int{777: 10, 778: 10}, owners)
	_, readable = socketOwners(fs.root, []int{11})
	assert.False(t, readable)
}

func TestErrorLogSince(t *testing.T) {
	t.Parallel()
	fs := newFakeProcfs(t)
	fs.add(10, 1, 1, "nginx: master process nginx")
	log := fs.errorLog(10)
	path, size, ok := errorLog(fs.root, 10)
	require.True(t, ok)
	assert.Equal(t, log, path)
	appendFile(t, log, "2024/06/30 10:00:01 [notice] 10#10: reconfiguring\n"+
		"2024/06/30 10:00:01 [emerg] 10#10: bind() to 127.0.0.1:9 failed (98: Address already in use)\n")
	assert.Equal(t, []string{"2024/06/30 10:00:01 [emerg] 10#10: bind() to 127.0.0.1:9 failed (98: Address already in use)"},
		errorLogSince(fs.root, 10, size))
	_, _, ok = errorLog(fs.root, 11)
	assert.False(t, ok)
}

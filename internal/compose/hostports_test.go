package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeProcfs writes a procfs with one process (pid 4242, "curl") holding
// socket inode 777, the given /proc/net/tcp, and the ephemeral range.
func fakeProcfs(t *testing.T, tcp string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range map[string]string{
		"net/tcp":                          "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" + tcp,
		"net/tcp6":                         "  sl  local_address                         remote_address                        st\n",
		"sys/net/ipv4/ip_local_port_range": "32768\t60999\n",
		"4242/comm":                        "curl\n",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "4242", "fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("socket:[777]", filepath.Join(root, "4242", "fd", "5")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestDescribeHostHolder(t *testing.T) {
	t.Parallel()
	// 0x9C40 = 40000, 0x1F90 = 8080; 0100007F = 127.0.0.1, 0500000A = 10.0.0.5, 01BB = 443
	outgoing := "   0: 0100007F:9C40 0500000A:01BB 01 00000000:00000000 00:00000000 00000000     0        0 777 1 0 100 0 0 10 0\n"
	listening := "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0 100 0 0 10 0\n"
	for _, tc := range []struct {
		name, tcp string
		port      uint16
		want      []string
	}{
		{"outgoing connection in the ephemeral range", outgoing, 40000, []string{
			"an outgoing connection on the host holds, not a listening process (127.0.0.1:40000 -> 10.0.0.5:443, ESTABLISHED, pid 4242 (curl))",
			"ephemeral port range (32768-60999)", "net.ipv4.ip_local_reserved_ports=40000",
		}},
		{"listening process", listening, 8080, []string{
			"a process on the host (not a container) is listening on (0.0.0.0:8080, pid 4242 (curl))", "ss -ltnp 'sport = :8080'",
		}},
		{"nothing found", "", 8080, []string{"a process on the host (not a container) is listening on: find it with `ss -ltnp 'sport = :8080'`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := describeHostHolder(fakeProcfs(t, tc.tcp), hostBinding{Service: "web", Port: tc.port, Proto: "tcp"})
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("description %q lacks %q", got, w)
				}
			}
		})
	}
}

func TestParseProcAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, ip string
		port   uint16
	}{
		{"0100007F:1F90", "127.0.0.1", 8080},
		{"00000000000000000000000001000000:0050", "::1", 80},
		{"0000000000000000FFFF00000100007F:0050", "127.0.0.1", 80},
	} {
		ip, port, ok := parseProcAddr(tc.in)
		if !ok || ip != tc.ip || port != tc.port {
			t.Errorf("parseProcAddr(%q) = %s, %d, %v; want %s, %d", tc.in, ip, port, ok, tc.ip, tc.port)
		}
	}
}

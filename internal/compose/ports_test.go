package compose

import "testing"

func TestTakenPort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  string
		want uint16
		ok   bool
	}{
		{"container, 20.10", "driver failed programming external connectivity on endpoint app-green-web-1 (5f2c): Bind for 127.0.0.1:8082 failed: port is already allocated", 8082, true},
		{"container, all addresses", "Bind for 0.0.0.0:18082 failed: port is already allocated", 18082, true},
		{"host process, 20.10", "driver failed programming external connectivity on endpoint x (y): Error starting userland proxy: listen tcp4 127.0.0.1:8081: bind: address already in use", 8081, true},
		{"host process, ipv6", "Error starting userland proxy: listen tcp6 [::]:8081: bind: address already in use", 8081, true},
		{"host process, 28", "failed to set up container networking: driver failed programming external connectivity on endpoint x (y): failed to bind host port for 0.0.0.0:8083:172.17.0.2:8080/tcp: address already in use", 8083, true},
		{"other error", "OCI runtime create failed", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := takenPort(tc.msg)
			if got != tc.want || ok != tc.ok {
				t.Errorf("takenPort = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestIPsOverlap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "127.0.0.1", true},
		{"0.0.0.0", "127.0.0.1", true},
		{"::", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.2", false},
	}
	for _, tc := range tests {
		if got := ipsOverlap(tc.a, tc.b); got != tc.want {
			t.Errorf("ipsOverlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

package throwaway

import (
	"net"
	"strconv"
	"testing"
)

// freeBlock finds a block of size ports from from on, below the
// ephemeral range, that nothing listens on; the tests start from
// different places, so that they can run in parallel.
func freeBlock(t *testing.T, from, size int) PortRange {
	t.Helper()
	for first := from; first+size <= EphemeralStart; first += size {
		p := NewPorts(PortRange{First: first, Last: first + size - 1})
		if _, err := p.FreeRun(size); err == nil {
			return p.Range
		}
	}
	t.Skip("no free block of ports below the ephemeral range")
	return PortRange{}
}

func TestPortsNeverHandOutAPortTwice(t *testing.T) {
	t.Parallel()
	r := freeBlock(t, 31000, 8)
	p := NewPorts(r)
	seen := map[int]bool{}
	for range 8 {
		port, err := p.Free()
		if err != nil {
			t.Fatal(err)
		}
		if port < r.First || port > r.Last || seen[port] {
			t.Fatalf("got port %d: outside %s or handed out before (%v)", port, r, seen)
		}
		seen[port] = true
	}
	if port, err := p.Free(); err == nil {
		t.Fatalf("a ninth port from a block of eight: %d", port)
	}
}

func TestPortsSkipAPortInUse(t *testing.T) {
	t.Parallel()
	r := freeBlock(t, 32000, 4)
	held, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(r.First+1))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	p := NewPorts(r)
	// Two consecutive free ports in First..First+3 with First+1 held:
	// only First+2 and First+3.
	first, err := p.FreeRun(2)
	if err != nil {
		t.Fatal(err)
	}
	if first != r.First+2 {
		t.Fatalf("FreeRun(2) = %d, want %d: %d is held on 127.0.0.1", first, r.First+2, r.First+1)
	}
	if port, err := p.Free(); err != nil || port != r.First {
		t.Fatalf("Free() = %d, %v; want %d, the one port left", port, err, r.First)
	}
}

func TestPortRangeOverlaps(t *testing.T) {
	t.Parallel()
	a := PortRange{First: 100, Last: 199}
	for _, tt := range []struct {
		b    PortRange
		want bool
	}{
		{PortRange{First: 200, Last: 299}, false},
		{PortRange{First: 0, Last: 99}, false},
		{PortRange{First: 199, Last: 299}, true},
		{PortRange{First: 0, Last: 100}, true},
		{PortRange{First: 120, Last: 130}, true},
	} {
		if got := a.Overlaps(tt.b); got != tt.want {
			t.Errorf("%s overlaps %s = %v, want %v", a, tt.b, got, tt.want)
		}
	}
}

package throwaway

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// PortRange is a block of TCP ports, First to Last inclusive.
//
// Ports handed to servers a test or the demo starts later (nginx's front
// door, a color's published port) come from a fixed block below the
// kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by
// default), never from a listen on port 0: a port the kernel offers there
// is free only until the next outgoing connection takes it as its local
// port, and the load tests open thousands of those. Each process that
// starts servers gets a block of its own, since a port this process
// checked and released is free for every other process too.
type PortRange struct{ First, Last int }

// EphemeralStart is where Linux's default ephemeral range begins; no
// PortRange may reach it.
const EphemeralStart = 32768

// DefaultPorts is the block of the demo and the benchmarks. The test
// packages have blocks of their own (see testenv).
var DefaultPorts = PortRange{First: 30000, Last: 30999}

func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

// Overlaps reports whether r and o share a port.
func (r PortRange) Overlaps(o PortRange) bool { return r.First <= o.Last && o.First <= r.Last }

// Ports hands out the ports of one range, each at most once per process.
type Ports struct {
	Range     PortRange
	mu        sync.Mutex
	handedOut map[int]bool
}

// NewPorts returns the hand-out of r.
func NewPorts(r PortRange) *Ports { return &Ports{Range: r, handedOut: map[int]bool{}} }

// Free returns a port of the range that is free right now on every
// address and that this process has not been given before.
func (p *Ports) Free() (int, error) { return p.FreeRun(1) }

// FreeRun returns the first of n consecutive ports of the range that are
// free right now on every address and that this process has not been
// given before; all n count as handed out.
func (p *Ports) FreeRun(n int) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size := p.Range.Last - p.Range.First + 1
	if n < 1 || n > size {
		return 0, fmt.Errorf("failed to find %d free ports in %s: the range holds %d", n, p.Range, size)
	}
	// Start at a random place, so that processes sharing a range by
	// mistake, or runs one after the other, rarely try the same ports.
	offset := rand.IntN(size)
	for i := range size {
		first := p.Range.First + (offset+i)%size
		if first+n-1 > p.Range.Last || !p.available(first, n) {
			continue
		}
		for port := first; port < first+n; port++ {
			p.handedOut[port] = true
		}
		return first, nil
	}
	return 0, fmt.Errorf("failed to find %d free consecutive ports in %s not handed out before", n, p.Range)
}

// available reports whether ports first to first+n-1 are not handed out
// and can be listened on on every address (":port" also conflicts with a
// listener on 127.0.0.1 or on a single address).
func (p *Ports) available(first, n int) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for port := first; port < first+n; port++ {
		if p.handedOut[port] {
			return false
		}
		l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
		if err != nil {
			return false
		}
		ls = append(ls, l)
	}
	return true
}

// defaultPorts hands out DefaultPorts.
var defaultPorts = NewPorts(DefaultPorts)

// FreePort returns a port of DefaultPorts (see Ports.Free).
func FreePort() (int, error) { return defaultPorts.Free() }

// FreePorts returns the first of n consecutive ports of DefaultPorts (see
// Ports.FreeRun), for a service with replicas published on a range.
func FreePorts(n int) (int, error) { return defaultPorts.FreeRun(n) }

package nginx

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// busyTable is a tcp table as a host under load shows it: a listener,
// thousands of client connections in TIME_WAIT (06), and two established
// ones.
func busyTable(timeWait int) string {
	var b strings.Builder
	b.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
	b.WriteString("   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0\n")
	for i := 0; i < timeWait; i++ {
		fmt.Fprintf(&b, "%4d: 0100007F:%04X 0100007F:1F91 06 00000000:00000000 03:00000F00 00000000     0        0 0 3 0000000000000000\n", i+1, 40000+i%20000)
	}
	b.WriteString("9998: 0100007F:C350 0100007F:1F91 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1\n")
	b.WriteString("9999: 0100007F:C351 0100007F:1F92 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1\n")
	return b.String()
}

func TestParseTCPStateKeepsOnlyThatState(t *testing.T) {
	t.Parallel()
	table := busyTable(50)
	all, err := parseTCP(strings.NewReader(table))
	require.NoError(t, err)
	assert.Len(t, all, 53)

	est, err := parseTCPState(strings.NewReader(table), tcpEstablished)
	require.NoError(t, err)
	require.Len(t, est, 2)
	assert.Equal(t, uint64(1002), est[0].Inode)
	assert.Equal(t, "127.0.0.1:8082", est[1].Remote.String())

	listen, err := parseTCPState(strings.NewReader(table), 0x0A)
	require.NoError(t, err)
	require.Len(t, listen, 1)
	assert.Equal(t, uint64(1001), listen[0].Inode)

	// A line whose state cannot be read from its bytes is parsed in full,
	// so that its error is reported.
	_, err = parseTCPState(strings.NewReader("header\n 0: zz:1 00:0 01 0 0 0 0 0 0 1\n"), tcpEstablished)
	assert.ErrorContains(t, err, "failed to parse socket address")
	_, err = parseTCPState(strings.NewReader("header\n 0: 0100007F:1F91 00000000:0000 zz 0 0 0 0 0 0 1\n"), tcpEstablished)
	assert.ErrorContains(t, err, "failed to parse socket state")
}

func TestLineState(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		line string
		st   byte
		ok   bool
	}{
		{"   1: 0100007F:C350 0100007F:1F91 01 00000000:00000000", 0x01, true},
		{"\t1:\t0100007F:C350  0100007F:1F91\t0A 0", 0x0A, true},
		{"1: a b 0b", 0x0B, true},
		{"1: a b 0F", 0x0F, true},
		{"1: a b 1", 0, false},
		{"1: a b zz", 0, false},
		{"1: a b", 0, false},
		{"", 0, false},
	} {
		st, ok := lineState([]byte(tt.line))
		assert.Equal(t, tt.ok, ok, "%q", tt.line)
		if tt.ok {
			assert.Equal(t, tt.st, st, "%q", tt.line)
		}
	}
}

// BenchmarkDrainPoll is one drain poll's read of a table of 10 000
// sockets in TIME_WAIT: run with -benchmem to see the bytes allocated.
func BenchmarkDrainPoll(b *testing.B) {
	table := busyTable(10000)
	for _, state := range []byte{0, tcpEstablished} {
		b.Run(fmt.Sprintf("state=%d", state), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseTCPState(strings.NewReader(table), state); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

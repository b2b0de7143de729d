package nginx

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// drainSetup is a fake procfs with master 100, old worker 101 (reloaded
// away) and new worker 103, and the Reload a Switch would have returned.
func drainSetup(t *testing.T) (*fakeProcfs, *Reload) {
	fs := newFakeProcfs(t)
	fs.add(100, 1, 500, "nginx: master process nginx -c /srv/a/nginx.conf")
	fs.add(101, 100, 510, "nginx: worker process is shutting down")
	fs.add(103, 100, 600, "nginx: worker process")
	fs.tcp(100, "tcp")
	r := &Reload{
		Observed:   true,
		Masters:    []Process{{100, 500}},
		OldWorkers: []Process{{101, 510}, {102, 510}}, // 102 has exited already
		NewWorkers: []Process{{103, 600}},
		Procfs:     fs.root,
	}
	return fs, r
}

var (
	blueUp  = hexAddr("127.0.0.1", 8081)
	nginxUp = hexAddr("127.0.0.1", 50000)
	otherUp = hexAddr("127.0.0.1", 50001)
)

func TestDrainReturnsAtOnceWithNothingInFlight(t *testing.T) {
	t.Parallel()
	fs, r := drainSetup(t)
	fs.remove(101)
	res, err := Drain(context.Background(), r, "127.0.0.1:8081", 5*time.Second)
	require.NoError(t, err)
	assert.False(t, res.TimedOut)
	assert.Empty(t, res.StillOpen)
}

func TestDrainWaitsForTheOldWorker(t *testing.T) {
	t.Parallel()
	fs, r := drainSetup(t)
	fs.socket(101, 7, 4242)
	fs.tcp(100, "tcp", tcpRow(nginxUp, blueUp, tcpEstablished, 4242))
	go func() {
		time.Sleep(300 * time.Millisecond)
		fs.tcp(100, "tcp")
		fs.zombie(101, 100, 510) // exited, not yet reaped: counts as gone
	}()
	res, err := Drain(context.Background(), r, "127.0.0.1:8081", 5*time.Second)
	require.NoError(t, err)
	assert.False(t, res.TimedOut)
	assert.Empty(t, res.StillOpen)
	assert.GreaterOrEqual(t, res.Waited, 300*time.Millisecond)
}

func TestDrainCapSaysWhatIsStillOpen(t *testing.T) {
	t.Parallel()
	fs, r := drainSetup(t)
	fs.socket(101, 7, 4242)
	fs.tcp(100, "tcp", tcpRow(nginxUp, blueUp, tcpEstablished, 4242))
	fs.tcp(100, "tcp6", tcpRow(hexAddr("::ffff:127.0.0.1", 50002), hexAddr("::ffff:127.0.0.1", 8081), tcpEstablished, 4243))
	fs.socket(101, 8, 4243)
	res, err := Drain(context.Background(), r, "127.0.0.1:8081", 200*time.Millisecond)
	require.NoError(t, err, "hitting the cap is not an error")
	assert.True(t, res.TimedOut)
	assert.Equal(t, []string{"nginx worker pid 101 (old)", "2 connections to 127.0.0.1:8081"}, res.StillOpen)
	assert.Equal(t, 2, res.OldConnections, "the summary's count of connections the old color still held")
	assert.Equal(t, 1, res.OldWorkers)
	assert.GreaterOrEqual(t, res.Waited, 200*time.Millisecond)
}

// TestDrainIgnoresConnectionsNotHeldByNginx: an idle keep-alive connection
// of the deploy's own health checker must not hold the drain for 30 s.
func TestDrainIgnoresConnectionsNotHeldByNginx(t *testing.T) {
	t.Parallel()
	fs, r := drainSetup(t)
	fs.remove(101)
	fs.tcp(100, "tcp",
		tcpRow(otherUp, blueUp, tcpEstablished, 9999), // someone else's
		tcpRow(blueUp, otherUp, tcpEstablished, 9998), // the old color's side of it
		tcpRow(nginxUp, blueUp, 0x06, 4242),           // TIME_WAIT
	)
	res, err := Drain(context.Background(), r, "127.0.0.1:8081", time.Second)
	require.NoError(t, err)
	assert.False(t, res.TimedOut)
	assert.Empty(t, res.StillOpen)
}

// TestDrainUnobserved: without a confirmed reload only the connections to
// the old color are evidence, all of them.
func TestDrainUnobserved(t *testing.T) {
	t.Parallel()
	fs := newFakeProcfs(t)
	fs.tcp(0, "tcp",
		tcpRow(nginxUp, blueUp, tcpEstablished, 1),
		tcpRow(otherUp, blueUp, tcpEstablished, 2),
		tcpRow(otherUp, hexAddr("127.0.0.1", 8082), tcpEstablished, 3),
	)
	r := &Reload{Procfs: fs.root}
	res, err := Drain(context.Background(), r, "127.0.0.1:8081", 100*time.Millisecond)
	require.NoError(t, err)
	assert.True(t, res.TimedOut)
	assert.Equal(t, []string{"2 connections to 127.0.0.1:8081"}, res.StillOpen)
	assert.Equal(t, 2, res.OldConnections)
	assert.Zero(t, res.OldWorkers)

	go func() {
		time.Sleep(150 * time.Millisecond)
		fs.tcp(0, "tcp", tcpRow(nginxUp, blueUp, 0x06, 1))
	}()
	res, err = Drain(context.Background(), r, "127.0.0.1:8081", 5*time.Second)
	require.NoError(t, err)
	assert.False(t, res.TimedOut)
	assert.GreaterOrEqual(t, res.Waited, 150*time.Millisecond)

	res, err = Drain(context.Background(), nil, "", time.Second)
	require.NoError(t, err)
	assert.Empty(t, res.StillOpen)
}

func TestDrainErrors(t *testing.T) {
	t.Parallel()
	_, r := drainSetup(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	res, err := Drain(ctx, r, "", 5*time.Second)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, []string{"nginx worker pid 101 (old)"}, res.StillOpen)

	_, err = Drain(context.Background(), r, "127.0.0.1", time.Second)
	assert.ErrorContains(t, err, `failed to parse old upstream "127.0.0.1"`)
	_, err = Drain(context.Background(), r, "127.0.0.1:http", time.Second)
	assert.ErrorContains(t, err, "is not a number")
}

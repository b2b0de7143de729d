//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/throwaway"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/require"

	"github.com/bluegreen-action/bluegreen/internal/compose"
	"github.com/bluegreen-action/bluegreen/internal/testenv"
)

// dockerComposeV1 returns the docker-compose binary, or skips (fails in CI).
func dockerComposeV1(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("docker-compose is required in CI (CI=true): %v", err)
		}
		t.Skipf("skipping: docker-compose is not installed (%v); CI runs this test", err)
	}
	return bin
}

// composeEnv is what docker-compose needs to reach the daemon, and nothing
// that could change its interpolation.
func composeEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "COMPOSE_INTERACTIVE_NO_CLI=1", "COMPOSE_HTTP_TIMEOUT=300"}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		env = append(env, "DOCKER_HOST="+h)
	}
	return env
}

// inspect inspects a container by name or id.
func inspect(t *testing.T, docker *client.Client, id string) container.InspectResponse {
	t.Helper()
	info, err := docker.ContainerInspect(context.Background(), id)
	require.NoError(t, err)
	return info
}

func startedAt(t *testing.T, info container.InspectResponse) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, info.State.StartedAt)
	require.NoError(t, err)
	return ts
}

// runContainer creates and starts a container that no color owns, and
// removes it when the test ends.
func runContainer(t *testing.T, docker *client.Client, name string, cfg *container.Config, host *container.HostConfig, nets *network.NetworkingConfig) string {
	t.Helper()
	ctx := context.Background()
	resp, err := docker.ContainerCreate(ctx, cfg, host, nets, nil, name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = docker.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
	})
	require.NoError(t, docker.ContainerStart(ctx, resp.ID, container.StartOptions{}))
	return resp.ID
}

// removeVolumesOf removes the volumes of the given projects when the test
// ends. It runs before the fixture's own cleanup, so it removes the
// projects' containers first: a volume in use cannot be removed.
func removeVolumesOf(t *testing.T, docker *client.Client, projects ...string) {
	t.Cleanup(func() {
		ctx := context.Background()
		for _, p := range projects {
			byLabel := filters.NewArgs(filters.Arg("label", compose.LabelProject+"="+p))
			if list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: byLabel}); err == nil {
				for _, c := range list {
					_ = docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
				}
			}
			list, err := docker.VolumeList(ctx, volume.ListOptions{Filters: byLabel})
			if err != nil {
				continue
			}
			for _, v := range list.Volumes {
				_ = docker.VolumeRemove(ctx, v.Name, true)
			}
		}
	})
}

// kvImage builds e2e/testdata/kv into a FROM scratch image, kept between
// runs like the app image (its tag is a content hash).
func kvImage(t *testing.T, docker *client.Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tag, err := throwaway.BuildBinaryImage(ctx, docker, testenv.RepoRoot(t), "./e2e/testdata/kv", "kv", "FROM scratch\nCOPY kv /kv\nENTRYPOINT [\"/kv\"]\n", "bge2e-kv")
	require.NoError(t, err)
	return tag
}

// dbConn is a test's own long-lived connection to the kv database.
type dbConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialDB(t *testing.T, port int) *dbConn {
	t.Helper()
	var conn net.Conn
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+itoa(port), time.Second)
		if err != nil {
			return false
		}
		// docker-proxy accepts before the app listens: prove the app answers.
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := fmt.Fprintln(c, "PING"); err == nil {
			if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
				conn = c
				return true
			}
		}
		c.Close()
		return false
	}, 20*time.Second, 100*time.Millisecond, "the database answers")
	t.Cleanup(func() { conn.Close() })
	return &dbConn{conn: conn, r: bufio.NewReader(conn)}
}

func (d *dbConn) do(t *testing.T, cmd string) int64 {
	t.Helper()
	require.NoError(t, d.conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err := fmt.Fprintln(d.conn, cmd)
	require.NoError(t, err, "the held connection to the database still works")
	line, err := d.r.ReadString('\n')
	require.NoError(t, err, "the held connection to the database still works")
	n, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	require.NoError(t, err, line)
	return n
}

// getLoop sends GETs through nginx from several clients until stopped, half
// of them on keep-alive connections and half on a new connection each.
type getLoop struct {
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	res  getLoopResult
}

type getLoopResult struct {
	sent     int
	failures []string
	versions map[string]int
}

func startGetLoop(url string, clients int) *getLoop {
	l := &getLoop{done: make(chan struct{}), res: getLoopResult{versions: map[string]int{}}}
	for i := 0; i < clients; i++ {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: i%2 == 1}}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.done:
					return
				default:
				}
				resp, err := c.Get(url)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				l.mu.Lock()
				l.res.sent++
				switch {
				case err != nil:
					l.res.failures = append(l.res.failures, err.Error())
				case resp.StatusCode != http.StatusOK:
					l.res.failures = append(l.res.failures, fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body))))
				default:
					l.res.versions[strings.TrimSpace(string(body))]++
				}
				l.mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return l
}

func (l *getLoop) stop() getLoopResult {
	close(l.done)
	l.wg.Wait()
	sort.Strings(l.res.failures)
	return l.res
}

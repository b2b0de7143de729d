//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// getLoad is a bounded GET load: half the goroutines reuse keep-alive
// connections, half open a new connection per request.
type getLoad struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	res   loadResult
}

type loadResult struct {
	requests, non2xx, transport int
	versions                    map[string]int
	examples                    []string // the first few failures
}

func startGetLoad(t *testing.T, url string, workers int) *getLoad {
	t.Helper()
	l := &getLoad{stopc: make(chan struct{}), res: loadResult{versions: map[string]int{}}}
	for i := 0; i < workers; i++ {
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: i%2 == 1, MaxIdleConnsPerHost: 1}}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer client.CloseIdleConnections()
			for {
				select {
				case <-l.stopc:
					return
				default:
				}
				l.record(client.Get(url))
				time.Sleep(10 * time.Millisecond) // bounded: about 100 requests a second per goroutine at most
			}
		}()
	}
	t.Cleanup(func() { l.stop() })
	return l
}

func (l *getLoad) record(resp *http.Response, err error) {
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.requests++
	fail := ""
	switch {
	case err != nil:
		l.res.transport++
		fail = err.Error()
	case resp.StatusCode/100 != 2:
		l.res.non2xx++
		fail = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	default:
		v, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(body)), "version="), " ")
		l.res.versions[v]++
	}
	if fail != "" && len(l.res.examples) < 5 {
		l.res.examples = append(l.res.examples, fmt.Sprintf("%s: %s", time.Now().Format("15:04:05.000"), fail))
	}
}

// stop ends the load and returns what it saw; it may be called twice.
func (l *getLoad) stop() loadResult {
	select {
	case <-l.stopc:
	default:
		close(l.stopc)
	}
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.res
}

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// frontDoorPoll is how often a watcher asks the front door, the same for
// the floor and a deploy. Each answer goes through nginx and Docker's
// port proxy to the live color on a new connection: every 5 ms, that
// load alone slowed a six-service deploy's container starts about
// twofold on 2 CPUs.
const frontDoorPoll = 20 * time.Millisecond

// watcher asks nginx's front door, each time on a new connection (as a
// new user would), which version answers, and notes when the version it
// waits for first does. Time to new version is measured this way for the
// floor and for a deploy alike: from the start until the front door
// serves the new version, not until a command returned.
type watcher struct {
	seen chan time.Time
	stop context.CancelFunc
}

// watchFrontDoor starts a watcher of url for an answer that contains
// "version=<version> ".
func watchFrontDoor(ctx context.Context, url, version string) *watcher {
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{seen: make(chan time.Time, 1), stop: cancel}
	want := "version=" + version + " "
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		t := time.NewTicker(frontDoorPoll)
		defer t.Stop()
		for {
			if resp, err := client.Get(url); err == nil {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				if strings.Contains(string(body), want) {
					w.seen <- time.Now()
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// wait returns when the front door first served the version, waiting at
// most timeout for it.
func (w *watcher) wait(timeout time.Duration) (time.Time, error) {
	defer w.stop()
	select {
	case at := <-w.seen:
		return at, nil
	case <-time.After(timeout):
		return time.Time{}, fmt.Errorf("the front door did not serve the new version within %s", timeout)
	}
}

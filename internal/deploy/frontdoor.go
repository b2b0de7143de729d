package deploy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/nginx"
)

// Front-door confirmation: how many answers in a row must show the new
// deploy, and how long they may take to by default.
const (
	frontDoorAgree          = 3
	DefaultFrontDoorTimeout = 5 * time.Second
)

// ErrNotConfirmed means nginx's front door never showed the new deploy.
var ErrNotConfirmed = errors.New("the front door did not show the new deploy")

// confirmFrontDoor polls nginx's front door on fresh connections until
// several answers in a row carry the new deploy's id, which the default
// include answers at nginx.MarkerPath. With verify-url set, not seeing it
// fails the switch; a front door found by reading nginx's config only
// warns, since it may be the wrong server.
func (r *run) confirmFrontDoor(ctx context.Context, include []byte) error {
	return r.confirmAnswer(ctx, include, nginx.Marker{Color: r.target, DeployID: r.res.DeployID}, false)
}

// confirmAnswer is confirmFrontDoor for the include's marker want: a
// full switch's, a canary step's or the maintenance page's. With whole, a
// front door polled as a plain URL must answer the marker whole too (a
// canary's answer also carries "deploy=X").
func (r *run) confirmAnswer(ctx context.Context, include []byte, want nginx.Marker, whole bool) error {
	target, host, explicit, ok := r.frontDoor(ctx, include)
	if !ok {
		return nil
	}
	timeout := r.d.FrontDoorTimeout
	if timeout <= 0 {
		timeout = DefaultFrontDoorTimeout
	}
	if u, err := url.Parse(target); err == nil && u.Scheme == "http" && u.Path == nginx.MarkerPath {
		return r.confirmMarker(ctx, nginx.FrontDoor{URL: u.Scheme + "://" + u.Host, Host: host}, want, explicit, timeout)
	}
	wantText := "deploy=" + want.DeployID
	if whole {
		wantText = want.Answer()
	}
	client := &http.Client{
		Timeout: time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			Proxy:             nil,
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback front door, checked for a marker only
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	start := time.Now()
	deadline := start.Add(timeout)
	agree, polls := 0, 0
	last := ""
	for time.Now().Before(deadline) {
		polls++
		got, err := get(ctx, client, target, host)
		switch {
		case err != nil:
			agree, last = 0, err.Error()
		case whole && got == "HTTP 200 "+wantText, !whole && strings.Contains(got, wantText):
			agree++
			last = got
		default:
			agree, last = 0, got
		}
		if agree >= frontDoorAgree {
			r.d.Report.Infof("front door %s answers from %s (%d answers in a row after %s)", target, answerFrom(want), agree, time.Since(start).Round(time.Millisecond))
			return nil
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	msg := fmt.Sprintf("%s did not answer with %q %d times in a row within %s (%d polls; last answer: %s)", target, wantText, frontDoorAgree, timeout, polls, last)
	return r.notConfirmed(msg, strings.HasPrefix(last, "HTTP 403"), explicit)
}

// confirmMarker asks the default include's marker location through fd
// until it answers the new include's marker whole (nginx.ConfirmMarker):
// a canary's or a maintenance page's answer, which also carry a deploy
// id, never pass for the full switch.
func (r *run) confirmMarker(ctx context.Context, fd nginx.FrontDoor, want nginx.Marker, explicit bool, timeout time.Duration) error {
	start := time.Now()
	err := nginx.ConfirmMarker(ctx, fd, want, frontDoorAgree, timeout)
	if err == nil {
		r.d.Report.Infof("front door %s answers from %s (%d answers in a row after %s)", fd.URL+nginx.MarkerPath, answerFrom(want), frontDoorAgree, time.Since(start).Round(time.Millisecond))
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	msg := strings.TrimPrefix(err.Error(), nginx.ErrMarkerNotConfirmed.Error()+": ")
	return r.notConfirmed(msg, strings.Contains(msg, "last answer: HTTP 403"), explicit)
}

// answerFrom says whom the front door answers from: "green", or the
// marker in words for a canary step or the maintenance page.
func answerFrom(m nginx.Marker) string {
	if m.Mode() == "full" {
		return m.Color.String()
	}
	return m.String()
}

// notConfirmed is the end of a confirmation that failed: an error with
// verify-url, else a warning.
func (r *run) notConfirmed(msg string, refused, explicit bool) error {
	if refused {
		msg += "; the default include's marker location answers only this host (loopback, its own addresses, verify-url's address), so a check through a proxy or load balancer in front of nginx is refused: point verify-url at nginx itself (for example http://127.0.0.1)"
	}
	if !explicit {
		r.d.Report.Warnf("could not confirm the switch through the front door found in nginx's config: %s; the reload itself was confirmed by nginx's new workers (set verify-url to check a specific front door)", msg)
		return nil
	}
	return fmt.Errorf("%w: %s; check that verify-url reaches the nginx server that includes %s", ErrNotConfirmed, msg, r.cfg.Nginx.IncludePath)
}

// frontDoor decides what to poll: verify-url (its marker path when it
// names no path), or the server block nginx's config shows including the
// include, when the include answers the marker.
func (r *run) frontDoor(ctx context.Context, include []byte) (target, host string, explicit, ok bool) {
	if v := r.cfg.Nginx.VerifyURL; v != "" {
		u, err := url.Parse(v)
		if err == nil && (u.Path == "" || u.Path == "/") {
			u.Path = nginx.MarkerPath
			v = u.String()
		}
		return v, "", true, true
	}
	if !bytes.Contains(include, []byte(nginx.MarkerPath)) {
		return "", "", false, false
	}
	fd, found, err := r.d.Nginx.FindFrontDoor(ctx, r.cfg.Nginx.IncludePath)
	if err != nil || !found {
		return "", "", false, false
	}
	return fd.URL + nginx.MarkerPath, fd.Host, false, true
}

func get(ctx context.Context, client *http.Client, target, host string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	req.Host = host // "" sends the URL's host
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Sprintf("HTTP %d %s", resp.StatusCode, strings.TrimSpace(string(body))), nil
}

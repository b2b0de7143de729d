package nginx

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// MarkerPath is where the default include answers with its color and
// deploy id, so that a deploy can see through nginx's front door which
// include the serving workers have loaded.
const MarkerPath = "/.well-known/bluegreen"

// FrontDoor is where nginx answers for the server block that includes the
// include: the URL to poll and the Host header that selects that server.
type FrontDoor struct {
	URL  string
	Host string
}

// FindFrontDoor reads nginx's full config (the test command with -T) and
// returns the front door of the server block that includes the include.
// ok is false when no such block listens on a TCP port this host can
// reach, for example when the include sits in http context.
func (s *Switcher) FindFrontDoor(ctx context.Context, includePath string) (FrontDoor, bool, error) {
	dump, err := s.configDump(ctx)
	if err != nil {
		return FrontDoor{}, false, err
	}
	fd, found := FrontDoorFromDump(dump, includePath)
	return fd, found, nil
}

// FrontDoorFromDump finds, in an `nginx -T` dump, the first server block
// that includes includePath (directly or through a glob) and turns its
// first TCP listen and server_name into a FrontDoor.
func FrontDoorFromDump(dump, includePath string) (FrontDoor, bool) {
	type server struct {
		depth    int // len(blocks) of the server directive itself
		listens  [][]string
		names    []string
		includes bool
	}
	var cur *server
	done := func() (FrontDoor, bool) {
		if cur == nil || !cur.includes {
			return FrontDoor{}, false
		}
		return frontDoorOf(cur.listens, cur.names)
	}
	for _, d := range parseDirectives(dump) {
		inside := cur != nil && len(d.blocks) > cur.depth && d.blocks[cur.depth] == "server"
		if cur != nil && !inside {
			if fd, ok := done(); ok {
				return fd, true
			}
			cur = nil
		}
		// nginx -T prints each file on its own, so a server block from an
		// included file (sites-enabled/default) stands at the top.
		if d.name == "server" && (len(d.blocks) == 0 || d.blocks[len(d.blocks)-1] == "http") {
			cur = &server{depth: len(d.blocks)}
			continue
		}
		if cur == nil {
			continue
		}
		direct := len(d.blocks) == cur.depth+1
		switch {
		case direct && d.name == "listen" && len(d.args) > 0:
			cur.listens = append(cur.listens, d.args)
		case direct && d.name == "server_name":
			cur.names = append(cur.names, d.args...)
		case d.name == "include" && len(d.args) == 1 && includes(d.args[0], includePath):
			cur.includes = true
		}
	}
	return done()
}

// includes reports whether an include directive's argument names path.
func includes(arg, path string) bool {
	if arg == path {
		return true
	}
	ok, err := filepath.Match(arg, path)
	return err == nil && ok
}

// frontDoorOf picks the first TCP listen and the first real server name.
func frontDoorOf(listens [][]string, names []string) (FrontDoor, bool) {
	for _, l := range listens {
		addr := l[0]
		if strings.HasPrefix(addr, "unix:") {
			continue
		}
		scheme := "http"
		for _, flag := range l[1:] {
			if flag == "ssl" {
				scheme = "https"
			}
		}
		host, port := "", addr
		if i := strings.LastIndex(addr, ":"); i >= 0 {
			host, port = addr[:i], addr[i+1:]
		} else if _, err := strconv.Atoi(addr); err != nil {
			host, port = addr, "80"
		}
		switch strings.Trim(host, "[]") {
		case "", "*", "0.0.0.0", "::", "localhost":
			host = "127.0.0.1"
		case "::1":
			host = "[::1]"
		}
		fd := FrontDoor{URL: fmt.Sprintf("%s://%s:%s", scheme, host, port)}
		for _, n := range names {
			if n != "_" && n != "" && !strings.ContainsAny(n, "*~") {
				fd.Host = n
				break
			}
		}
		return fd, true
	}
	return FrontDoor{}, false
}

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
	dump, ok := dumpCommand(s.TestCmd)
	if !ok {
		return FrontDoor{}, false, fmt.Errorf("failed to dump the nginx config: the test command %q has no -t flag", strings.Join(s.TestCmd, " "))
	}
	res, err := s.run(ctx, dump)
	if err != nil {
		return FrontDoor{}, false, fmt.Errorf("failed to dump the nginx config: %w", err)
	}
	fd, found := FrontDoorFromDump(res.Stdout, includePath)
	return fd, found, nil
}

// FrontDoorFromDump finds, in an `nginx -T` dump, the first server block
// that includes includePath (directly or through a glob) and turns its
// first TCP listen and server_name into a FrontDoor.
func FrontDoorFromDump(dump, includePath string) (FrontDoor, bool) {
	type server struct {
		listens  [][]string
		names    []string
		includes bool
	}
	var stack []string
	var cur *server
	var stmt []string
	for _, tok := range tokenize(stripComments([]byte(dump))) {
		switch tok {
		case "{":
			name := ""
			if len(stmt) > 0 {
				name = stmt[0]
			}
			// nginx -T prints each file on its own, so a server block from
			// an included file (sites-enabled/default) stands at the top.
			if name == "server" && (len(stack) == 0 || stack[len(stack)-1] == "http") {
				cur = &server{}
			}
			stack = append(stack, name)
			stmt = nil
		case "}":
			if len(stack) > 0 {
				if stack[len(stack)-1] == "server" && cur != nil {
					if cur.includes {
						if fd, ok := frontDoorOf(cur.listens, cur.names); ok {
							return fd, true
						}
					}
					cur = nil
				}
				stack = stack[:len(stack)-1]
			}
			stmt = nil
		case ";":
			if cur != nil && len(stmt) > 1 && len(stack) > 0 && stack[len(stack)-1] == "server" {
				switch stmt[0] {
				case "listen":
					cur.listens = append(cur.listens, stmt[1:])
				case "server_name":
					cur.names = append(cur.names, stmt[1:]...)
				}
			}
			if cur != nil && len(stmt) == 2 && stmt[0] == "include" && includes(stmt[1], includePath) {
				cur.includes = true
			}
			stmt = nil
		default:
			stmt = append(stmt, tok)
		}
	}
	return FrontDoor{}, false
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

// tokenize splits nginx config text into words and the tokens { } ;,
// keeping quoted strings whole (without their quotes).
func tokenize(s string) []string {
	var toks []string
	var cur strings.Builder
	var quote byte
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{' || c == '}' || c == ';':
			flush()
			toks = append(toks, string(c))
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return toks
}

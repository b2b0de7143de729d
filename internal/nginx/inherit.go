package nginx

// Directives a server-context include must repeat. nginx inherits
// add_header and access_log from http into a server only when the server
// has none of its own; a canary include that adds one (the cookie, the
// evidence log) would silently switch off the http block's security
// headers or access log for that server. Repeating them in the include
// keeps them in force.

// CanaryKeep returns what a server-context canary include must repeat
// (Canary.Keep): the add_header directives, and with evidence the
// access_log directives, that the server including includePath inherits
// from http. The dump is nginx -T's output.
func CanaryKeep(dump, includePath string, evidence bool) []string {
	keep := Inherited(dump, includePath, "add_header")
	if evidence {
		keep = append(keep, Inherited(dump, includePath, "access_log")...)
	}
	return keep
}

// Inherited returns the directive's lines that the server block including
// includePath inherits from http context: none when that server has the
// directive itself (the include's joins them at the same level) or, for
// access_log, when http turns it off. Only the main file's http block is
// read; nginx's compiled-in default access log is not known here.
func Inherited(dump, includePath, directive string) []string {
	type server struct {
		depth    int
		includes bool
		own      bool
	}
	var cur *server
	for _, d := range parseDirectives(dump) {
		if cur != nil && !(len(d.blocks) > cur.depth && d.blocks[cur.depth] == "server") {
			if cur.includes && cur.own {
				return nil
			}
			cur = nil
		}
		if d.name == "server" && (len(d.blocks) == 0 || d.blocks[len(d.blocks)-1] == "http") {
			cur = &server{depth: len(d.blocks)}
			continue
		}
		if cur == nil {
			continue
		}
		if d.name == directive && len(d.blocks) == cur.depth+1 {
			cur.own = true
		}
		if d.name == "include" && len(d.args) == 1 && includes(d.args[0], includePath) {
			cur.includes = true
		}
	}
	if cur != nil && cur.includes && cur.own {
		return nil
	}
	files := splitDump(dump)
	if len(files) == 0 {
		return nil
	}
	stmts, err := parseStmts(files[0].text)
	if err != nil {
		return nil
	}
	var keep []string
	for _, h := range stmts {
		if h.name != "http" {
			continue
		}
		for _, d := range h.block {
			if d.name != directive {
				continue
			}
			if directive == "access_log" && len(d.args) > 0 && d.args[0] == "off" {
				return nil
			}
			keep = append(keep, d.raw(files[0].text))
		}
	}
	return keep
}

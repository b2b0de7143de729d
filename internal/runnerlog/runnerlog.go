// Package runnerlog reads a job log the way GitHub's runner does
// (actions/runner: ActionCommandManager.TryProcessCommand with
// ActionCommand.TryParseV2 and TryParse), so that tests can ask which
// workflow commands a program's output would have issued.
//
// It is deliberately stricter than the runner in one way: a command is
// reported whatever its name, registered with the runner or not, because
// tomorrow's runner may know more commands than today's. Matching is
// ordinal; the runner's culture-sensitive matching can only find more,
// which is why package report escapes the characters ICU ignores.
package runnerlog

import (
	"strings"
	"unicode"
)

// Command is one workflow command the runner would have processed.
type Command struct {
	Name       string
	Properties map[string]string
	Data       string
	Line       string // the whole line, as the runner saw it
	V1         bool   // written "##[name k=v;…]data" rather than "::name k=v,…::data"
}

// StopCommands is the command that pauses command processing until a
// line that is a command named after its data (the token).
const StopCommands = "stop-commands"

// Commands returns the commands in log, in order. The log is split into
// lines at \n and at \r (a \r\n is one break); a line is a command when,
// after its leading white space, it starts with "::name…::" (v2), or when
// it holds "##[name…]" anywhere (v1; the runner tries it when v2 fails,
// and v2 fails for a name it does not know: see parse). After
// "::stop-commands::TOKEN" nothing is a command until one named TOKEN
// (case-insensitive), as "::TOKEN::" or "##[TOKEN]"; both the stop and
// the resume are returned.
func Commands(log string) []Command {
	var out []Command
	stopToken := ""
	for _, line := range strings.FieldsFunc(log, func(r rune) bool { return r == '\n' || r == '\r' }) {
		for _, c := range parse(line) {
			if stopToken != "" {
				if !strings.EqualFold(c.Name, stopToken) {
					continue
				}
				stopToken = ""
				out = append(out, c)
				break
			}
			if strings.EqualFold(c.Name, StopCommands) {
				// The runner stops on an empty token too, and then
				// never resumes.
				stopToken = c.Data
				if stopToken == "" {
					stopToken = "\x00never"
				}
			}
			out = append(out, c)
		}
	}
	return out
}

// Registered are the commands the runner knows (besides a stop token
// while it is stopped).
var Registered = []string{
	"add-mask", "add-matcher", "add-path", "debug", "echo", "endgroup", "error", "group",
	"notice", "remove-matcher", "save-state", "set-env", "set-output", StopCommands, "warning",
}

func registered(name string) bool {
	for _, r := range Registered {
		if strings.EqualFold(r, name) {
			return true
		}
	}
	return false
}

// parse returns the commands line could be. The runner tries v2 first
// and, when that fails (no "::" prefix, or a name it does not know),
// v1. A v2 command with an unknown name is returned as well, ahead of
// any v1 one: Commands reports what a later runner might run too.
func parse(line string) []Command {
	v2, ok := parseV2(line)
	if ok && registered(v2.Name) {
		return []Command{v2}
	}
	var cs []Command
	if ok {
		cs = append(cs, v2)
	}
	if v1, ok := parseV1(line); ok {
		cs = append(cs, v1)
	}
	return cs
}

// parseV2 reads "::name k=v,k=v::data" after leading white space.
func parseV2(line string) (Command, bool) {
	msg := strings.TrimLeftFunc(line, unicode.IsSpace)
	if !strings.HasPrefix(msg, "::") {
		return Command{}, false
	}
	end := strings.Index(msg[2:], "::")
	if end < 0 {
		return Command{}, false
	}
	info := msg[2 : 2+end]
	name, props, hasProps := strings.Cut(info, " ")
	if name == "" {
		return Command{}, false
	}
	c := Command{Name: name, Line: line, Properties: map[string]string{}, Data: unescape(msg[2+end+2:], dataEscapes)}
	if hasProps {
		for _, p := range strings.Split(strings.TrimSpace(props), ",") {
			if k, v, ok := strings.Cut(p, "="); ok && k != "" && v != "" {
				c.Properties[k] = unescape(v, propertyEscapes)
			}
		}
	}
	return c, true
}

// parseV1 reads "##[name k=v;k=v]data" anywhere in the line.
func parseV1(line string) (Command, bool) {
	start := strings.Index(line, "##[")
	if start < 0 {
		return Command{}, false
	}
	end := strings.IndexByte(line[start:], ']')
	if end < 0 {
		return Command{}, false
	}
	info := line[start+3 : start+end]
	name, props, hasProps := strings.Cut(info, " ")
	if name == "" {
		return Command{}, false
	}
	c := Command{Name: name, Line: line, V1: true, Properties: map[string]string{}, Data: unescape(line[start+end+1:], v1Escapes)}
	if hasProps {
		for _, p := range strings.Split(props, ";") {
			if k, v, ok := strings.Cut(p, "="); ok && k != "" && v != "" {
				c.Properties[k] = unescape(v, v1Escapes)
			}
		}
	}
	return c, true
}

// The runner's escape tables, undone in the runner's order (which is why
// "%25" comes last).
var (
	dataEscapes     = []string{"%0D", "\r", "%0A", "\n", "%25", "%"}
	propertyEscapes = []string{"%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%"}
	v1Escapes       = []string{"%3B", ";", "%0D", "\r", "%0A", "\n", "%5D", "]", "%25", "%"}
)

func unescape(s string, table []string) string {
	for i := 0; i < len(table); i += 2 {
		s = strings.ReplaceAll(s, table[i], table[i+1])
	}
	return s
}

package nginx

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Inclusion is where nginx's loaded config includes the include, read
// from `nginx -T`. An include no server block reaches changes nothing
// users see, however well it is written, tested and reloaded.
type Inclusion struct {
	// Chains holds, for each include directive that names the include,
	// the blocks around it from the main file down ("http server"), with
	// included files followed back to where they are included.
	Chains []string
	// Dumped reports that nginx -T printed the include's own file, which
	// nginx only does for a file it read.
	Dumped bool
	// Passes holds the arguments of every proxy_pass (and grpc_pass,
	// fastcgi_pass, …) outside the include: where the config sends
	// requests, for telling whether an upstream the include defines is used.
	Passes []string
}

// passDirectives are the directives that send a request to an upstream.
var passDirectives = map[string]bool{
	"proxy_pass": true, "grpc_pass": true, "fastcgi_pass": true, "uwsgi_pass": true,
	"scgi_pass": true, "memcached_pass": true,
}

// Uses reports whether some pass directive outside the include sends
// requests to the upstream block named name (proxy_pass http://name/…,
// grpc_pass grpc://name, fastcgi_pass name). A pass through a variable
// cannot be told, and counts as a use.
func (in Inclusion) Uses(name string) bool {
	for _, p := range in.Passes {
		if strings.Contains(p, "$") {
			return true
		}
		host := p
		if _, rest, ok := strings.Cut(p, "://"); ok {
			host = rest
		}
		host, _, _ = strings.Cut(host, "/")
		if host == name {
			return true
		}
	}
	return false
}

// UpstreamNames lists the upstream blocks an include defines.
func UpstreamNames(include []byte) []string {
	var out []string
	for _, d := range parseDirectives(string(include)) {
		if d.name == "upstream" && len(d.args) == 1 {
			out = append(out, d.args[0])
		}
	}
	return out
}

// InServer reports whether some server block includes the include
// (directly or inside one of its locations).
func (in Inclusion) InServer() bool {
	for _, c := range in.Chains {
		if hasBlock(c, "server") {
			return true
		}
	}
	return false
}

// InHTTP reports whether the include stands in http context, outside any
// server block: where an upstream block goes.
func (in Inclusion) InHTTP() bool {
	for _, c := range in.Chains {
		if strings.HasSuffix(" "+c, " http") {
			return true
		}
	}
	return false
}

// Nowhere reports that nginx's config does not include the include at all.
func (in Inclusion) Nowhere() bool { return len(in.Chains) == 0 && !in.Dumped }

func hasBlock(chain, block string) bool {
	for _, b := range strings.Fields(chain) {
		if b == block {
			return true
		}
	}
	return false
}

// FindInclusion reads nginx's full config (the test command with -T) and
// reports where it includes includePath, a path as nginx names it.
func (s *Switcher) FindInclusion(ctx context.Context, includePath string) (Inclusion, error) {
	dump, err := s.configDump(ctx)
	if err != nil {
		return Inclusion{}, err
	}
	return InclusionFromDump(dump, includePath), nil
}

// configDump is nginx's full config as nginx -T prints it: the dump
// Preflight made, when it made one (where the include is included, which
// server block, which pid file: what a deploy does not change), else a
// fresh one.
func (s *Switcher) configDump(ctx context.Context) (string, error) {
	if s.dumped != nil {
		return *s.dumped, nil
	}
	dump, ok := dumpCommand(s.TestCmd)
	if !ok {
		return "", fmt.Errorf("failed to dump the nginx config: the test command %q has no -t flag", strings.Join(s.TestCmd, " "))
	}
	res, err := s.run(ctx, dump)
	if err != nil {
		return "", fmt.Errorf("failed to dump the nginx config: %w", err)
	}
	return res.Stdout, nil
}

// dumpFileRE is the line nginx -T prints before each file it read.
var dumpFileRE = regexp.MustCompile(`(?m)^# configuration file (.+):[ \t]*$`)

// dumpFile is one file of an nginx -T dump.
type dumpFile struct {
	path string
	text string
}

// splitDump cuts an nginx -T dump into its files, the main file first.
func splitDump(dump string) []dumpFile {
	idx := dumpFileRE.FindAllStringSubmatchIndex(dump, -1)
	var files []dumpFile
	for i, m := range idx {
		end := len(dump)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		files = append(files, dumpFile{path: dump[m[2]:m[3]], text: dump[m[1]:end]})
	}
	return files
}

// includeSite is one include directive: the file it stands in, the
// blocks around it there, and its argument made absolute.
type includeSite struct {
	file   string
	blocks []string
	arg    string
}

// InclusionFromDump finds where an nginx -T dump includes includePath.
// nginx -T prints each file on its own, so an include directive at the
// top of an included file takes the context of the directive that
// included that file; that is followed back to the main file. Relative
// include arguments are taken relative to the main file's directory,
// nginx's configuration prefix.
func InclusionFromDump(dump, includePath string) Inclusion {
	files := splitDump(dump)
	if len(files) == 0 {
		return Inclusion{}
	}
	var in Inclusion
	for _, f := range files {
		if f.path == includePath {
			in.Dumped = true
		}
		for _, d := range parseDirectives(f.text) {
			if passDirectives[d.name] && len(d.args) > 0 && f.path != includePath {
				in.Passes = append(in.Passes, d.args[0])
			}
		}
	}
	sites := includeSites(files)
	for _, s := range sites {
		if !includes(s.arg, includePath) {
			continue
		}
		for _, parent := range chainsOf(sites, files[0].path, s.file, map[string]bool{}) {
			in.Chains = append(in.Chains, strings.TrimSpace(parent+" "+strings.Join(s.blocks, " ")))
		}
	}
	return in
}

// includeSites lists the include directives of a dump's files, their
// arguments made absolute against the main file's directory.
func includeSites(files []dumpFile) []includeSite {
	if len(files) == 0 {
		return nil
	}
	prefix := filepath.Dir(files[0].path)
	var sites []includeSite
	for _, f := range files {
		for _, d := range parseDirectives(f.text) {
			if d.name != "include" || len(d.args) != 1 {
				continue
			}
			arg := d.args[0]
			if !filepath.IsAbs(arg) {
				arg = filepath.Join(prefix, arg)
			}
			sites = append(sites, includeSite{file: f.path, blocks: d.blocks, arg: arg})
		}
	}
	return sites
}

// chainsOf returns the block chains ("http server") that file's top level
// stands in, following the include sites back to main.
func chainsOf(sites []includeSite, main, file string, seen map[string]bool) []string {
	if file == main {
		return []string{""}
	}
	if seen[file] {
		return nil
	}
	seen[file] = true
	var out []string
	for _, s := range sites {
		if !includes(s.arg, file) {
			continue
		}
		for _, parent := range chainsOf(sites, main, s.file, seen) {
			out = append(out, strings.TrimSpace(parent+" "+strings.Join(s.blocks, " ")))
		}
	}
	return out
}

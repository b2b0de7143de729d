package nginx

// The canary in http context. An upstream block cannot branch on a
// variable, but its `hash` method picks a server from a key: with both
// colors' servers in the block, a key that nginx's hash sends to a given
// server exists for each, and maps choose that key from the request's
// bucket. nginx's (non-consistent) hash takes ((crc32(key) >> 16) & 0x7fff)
// modulo the total weight and walks the servers in order; the keys are
// found here by the same arithmetic and checked against a real nginx by
// the tests.

import (
	"fmt"
	"hash/crc32"
	"regexp"
	"strconv"
	"strings"
)

// balancers are the upstream directives that choose a server; a canary
// brings its own (hash), so a template with one of these cannot be made
// into a canary.
var balancers = map[string]bool{"hash": true, "ip_hash": true, "least_conn": true, "random": true, "least_time": true, "sticky": true, "ntlm": true}

// peer is one server line of a merged upstream block.
type peer struct {
	line   string // "server 127.0.0.1:8082 max_fails=3;"
	weight int
	isNew  bool
}

// canaryUpstream writes the http-context canary.
func canaryUpstream(out *strings.Builder, c Canary, ob, nb includeBody) error {
	if len(ob.stmts) != len(nb.stmts) {
		return fmt.Errorf("%w: the template renders %d directives for %s and %d for %s",
			ErrCannotRender, len(ob.stmts), c.Old.Color, len(nb.stmts), c.New.Color)
	}
	n := "bluegreen_" + c.name()
	var names []string
	var blocks strings.Builder
	for i, o := range ob.stmts {
		nw := nb.stmts[i]
		if o.name != "upstream" {
			if o.raw(ob.text) != nw.raw(nb.text) {
				return fmt.Errorf("%w: %q (line %d) differs between %s and %s outside an upstream block; in http context only upstream servers can be chosen per request",
					ErrCannotRender, firstLine(nw.raw(nb.text)), nw.line, c.Old.Color, c.New.Color)
			}
			blocks.WriteString(o.raw(ob.text) + "\n")
			continue
		}
		if nw.name != "upstream" || len(o.args) != 1 || len(nw.args) != 1 || o.args[0] != nw.args[0] {
			return fmt.Errorf("%w: the upstream blocks differ in name or order between %s and %s", ErrCannotRender, c.Old.Color, c.New.Color)
		}
		block, err := mergeUpstream(c, o, ob.text, nw, nb.text, n)
		if err != nil {
			return err
		}
		names = append(names, o.args[0])
		blocks.WriteString(block)
	}
	quoted := make([]string, len(names))
	for i, name := range names {
		quoted[i] = regexp.QuoteMeta(name)
	}
	proxied := "^(" + strings.Join(quoted, "|") + ")(:[0-9]+)?"
	fmt.Fprintf(out, "map $request_id $%s_rand { %s $%s_r; default 000; }\n",
		n, quoteArg(fmt.Sprintf("~^(?<%s_r>[0-9a-f]{%d})", n, hexDigits)), n)
	id := regexp.QuoteMeta(c.New.DeployID)
	fmt.Fprintf(out, "map $cookie_%s $%s_bucket { %s $%s_c; default $%s_rand; }\n",
		c.CookieName(), n, quoteArg(fmt.Sprintf("~^%s\\.(?<%s_c>[0-9a-f]{%d})$", id, n, hexDigits)), n, n)
	// Set the cookie only on answers proxied to these upstreams, and only
	// to a client that does not carry this canary's cookie yet.
	fmt.Fprintf(out, "map \"$proxy_host|$cookie_%s\" $%s_cookie { %s \"\"; %s %s; default \"\"; }\n",
		c.CookieName(), n, quoteArg(fmt.Sprintf("~%s\\|%s\\.[0-9a-f]{%d}$", proxied, id, hexDigits)),
		quoteArg("~"+proxied+`\|`), quoteArg(c.cookieValue("$"+n+"_bucket")))
	fmt.Fprintf(out, "add_header Set-Cookie $%s_cookie always;\n", n)
	out.WriteString(blocks.String())
	if c.Evidence != nil {
		out.WriteString(c.Evidence.httpLines(n, proxied+"$"))
	}
	return nil
}

// mergeUpstream writes one upstream block with both colors' servers, the
// old color's first, and the map that picks the server's key.
func mergeUpstream(c Canary, o stmt, otext string, nw stmt, ntext, n string) (string, error) {
	name := o.args[0]
	oldPeers, oldOther, err := upstreamParts(o, otext, false)
	if err != nil {
		return "", err
	}
	newPeers, newOther, err := upstreamParts(nw, ntext, true)
	if err != nil {
		return "", err
	}
	if strings.Join(oldOther, "\n") != strings.Join(newOther, "\n") {
		return "", fmt.Errorf("%w: upstream %s differs between %s and %s in more than its server lines", ErrCannotRender, name, c.Old.Color, c.New.Color)
	}
	if len(oldPeers) == 0 || len(newPeers) == 0 {
		return "", fmt.Errorf("%w: upstream %s has no server line for one of the colors", ErrCannotRender, name)
	}
	peers := append(oldPeers, newPeers...)
	keyVar := n + "_" + varName(name) + "_key"
	var b strings.Builder
	fmt.Fprintf(&b, "upstream %s {\n    hash $%s;\n", name, keyVar)
	for _, p := range peers {
		b.WriteString("    " + p.line + "\n")
	}
	for _, l := range oldOther {
		b.WriteString("    " + l + "\n")
	}
	b.WriteString("}\n")
	keys, err := peerKeys(peers)
	if err != nil {
		return "", fmt.Errorf("%w: upstream %s: %w", ErrCannotRender, name, err)
	}
	// Buckets below the share go to the new servers, the rest to the old
	// ones, each side split evenly; map regexes are tried in order.
	share := bucketsFor(c.Percent)
	type span struct {
		upper int
		key   string
	}
	var spans []span
	split := func(from, to int, side []int) {
		for i, p := range side {
			upper := from + (to-from)*(i+1)/len(side)
			if upper > from+(to-from)*i/len(side) {
				spans = append(spans, span{upper, keys[p]})
			}
		}
	}
	var newIdx, oldIdx []int
	for i, p := range peers {
		if p.isNew {
			newIdx = append(newIdx, i)
		} else {
			oldIdx = append(oldIdx, i)
		}
	}
	split(0, share, newIdx)
	split(share, buckets, oldIdx)
	fmt.Fprintf(&b, "map $%s_bucket $%s {", n, keyVar)
	for _, s := range spans[:len(spans)-1] {
		fmt.Fprintf(&b, " %s %s;", quoteStr("~^("+hexBelow(s.upper)+")$"), s.key)
	}
	fmt.Fprintf(&b, " default %s; }\n", spans[len(spans)-1].key)
	return b.String(), nil
}

// upstreamParts splits an upstream block into its server lines and its
// other directives (keepalive and the like).
func upstreamParts(u stmt, text string, isNew bool) ([]peer, []string, error) {
	var peers []peer
	var other []string
	for _, s := range u.block {
		switch {
		case s.name == "server":
			p := peer{line: s.raw(text), weight: 1, isNew: isNew}
			for _, a := range s.args[1:] {
				switch {
				case a == "backup":
					return nil, nil, fmt.Errorf("%w: upstream %s has a backup server, which nginx's hash method does not allow", ErrCannotRender, u.args[0])
				case strings.HasPrefix(a, "weight="):
					w, err := strconv.Atoi(strings.TrimPrefix(a, "weight="))
					if err != nil || w < 1 {
						return nil, nil, fmt.Errorf("%w: upstream %s: %q is not a positive weight", ErrCannotRender, u.args[0], a)
					}
					p.weight = w
				}
			}
			peers = append(peers, p)
		case balancers[s.name]:
			return nil, nil, fmt.Errorf("%w: upstream %s chooses its servers with %s; a canary chooses them with hash", ErrCannotRender, u.args[0], s.name)
		default:
			other = append(other, s.raw(text))
		}
	}
	return peers, other, nil
}

// hashPoint is where nginx's hash method lands a key among total weight
// units on its first try.
func hashPoint(key string, total int) int {
	h := (crc32.ChecksumIEEE([]byte(key)) >> 16) & 0x7fff
	return int(h) % total
}

// peerKeys finds, for each peer, a key nginx's hash sends to it.
func peerKeys(peers []peer) ([]string, error) {
	total := 0
	for _, p := range peers {
		total += p.weight
	}
	if total > 0x7fff {
		return nil, fmt.Errorf("its servers' weights add up to %d, more than nginx's hash can spread over", total)
	}
	keys := make([]string, len(peers))
	from := 0
	for i, p := range peers {
		for k := 0; ; k++ {
			if k > 1<<20 {
				return nil, fmt.Errorf("no key found for server %d", i+1)
			}
			key := "s" + strconv.Itoa(i) + "k" + strconv.Itoa(k)
			if pt := hashPoint(key, total); pt >= from && pt < from+p.weight {
				keys[i] = key
				break
			}
		}
		from += p.weight
	}
	return keys, nil
}

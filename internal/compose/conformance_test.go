package compose

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The conformance test itself needs Docker and docker-compose and lives in
// conformance_e2e_test.go (build tag e2e); the table of known differences
// stays here, so that the fast tier keeps KNOWN-DIFFERENCES.md in step.

// knownDifference is one way our containers differ from docker-compose
// v1's on purpose. Match must recognise exactly that difference in the
// values of Field (ours, then the peer's, both as the view holds them) and
// nothing else, so that a listed difference cannot hide a new one.
type knownDifference struct {
	Field  string
	Ours   string
	Peer   string
	Reason string
	Match  func(ours, peer any) bool
}

// knownDifferences is the table KNOWN-DIFFERENCES.md repeats. Every entry
// must be seen in at least one project, or the test asks for its removal.
var knownDifferences = []knownDifference{
	{
		Field:  "container.Name",
		Ours:   "`<project>-<service>-1`",
		Peer:   "`<project>_<service>_1`",
		Reason: "docker compose v2 names containers with hyphens and so do we; v1 used underscores. Both find containers by the compose labels, never by name, so either tool still manages the other's containers. Set container_name to fix a name.",
		Match: func(ours, peer any) bool {
			o, p := ours.(string), peer.(string)
			return strings.HasPrefix(o, "<project>-") && strings.ReplaceAll(p, "_", "-") == o
		},
	},
	{
		Field:  "container.CapAdd",
		Ours:   "`CAP_NET_ADMIN`",
		Peer:   "`NET_ADMIN`",
		Reason: "the same capability, spelled as the daemon stores it: Docker 20.10 adds the CAP_ prefix to cap_add and cap_drop for clients on Engine API 1.40 or later (we negotiate 1.41), and keeps them as written for older clients (docker-compose v1 speaks 1.38 for compose-spec files).",
		Match:  capPrefixOnly,
	},
	{
		Field:  "container.CapDrop",
		Ours:   "`CAP_MKNOD`",
		Peer:   "`MKNOD`",
		Reason: "as for cap_add.",
		Match:  capPrefixOnly,
	},
	{
		Field:  "network.Attachable",
		Ours:   "false",
		Peer:   "true",
		Reason: "docker compose v2 creates networks as written (attachable: false unless set) and so do we; v1 made every network attachable. Attachable only lets standalone containers join a swarm-scoped overlay network; on the bridge networks a single host uses it changes nothing.",
		Match:  func(ours, peer any) bool { return ours == false && peer == true },
	},
	{
		Field:  "container.Networks",
		Ours:   "aliases include the container name",
		Peer:   "aliases are the service name and the configured aliases",
		Reason: "docker compose v2 adds the container name as a DNS alias on every network (getAliases in create.go); v1 did not. It only adds a name others may resolve; it resolves to the same container.",
		Match: func(ours, peer any) bool {
			o, p := ours.(map[string]any), peer.(map[string]any)
			if len(o) != len(p) {
				return false
			}
			for name, ov := range o {
				pv, ok := p[name]
				if !ok {
					return false
				}
				oe, pe := ov.(map[string]any), pv.(map[string]any)
				if fmt.Sprint(oe["IPv4Address"]) != fmt.Sprint(pe["IPv4Address"]) {
					return false
				}
				trimmed := []any{}
				for _, a := range asSlice(oe["Aliases"]) {
					if a != "<container name>" {
						trimmed = append(trimmed, a)
					}
				}
				if !jsonEqual(trimmed, append([]any{}, asSlice(pe["Aliases"])...)) {
					return false
				}
			}
			return true
		},
	},
	{
		Field:  "container.EndpointLinks",
		Ours:   "`<project>-db-1:db-1`",
		Peer:   "`<project>_db_1:db_1`",
		Reason: "links name the linked container and add its numbered aliases, in each tool's naming (as for container.Name): docker compose v2 links <project>-<service>-<n> under the alias, <service>-<n> and <project>-<service>-<n> (getLinks in convergence.go), v1 did the same with underscores.",
		Match: func(ours, peer any) bool {
			o, p := ours.(map[string]any), peer.(map[string]any)
			if len(o) != len(p) {
				return false
			}
			for network, ol := range o {
				want := map[string]bool{}
				for _, l := range asSlice(p[network]) {
					want[strings.ReplaceAll(l.(string), "_", "-")] = true
				}
				if len(asSlice(ol)) != len(want) {
					return false
				}
				for _, l := range asSlice(ol) {
					if !want[l.(string)] || !strings.HasPrefix(l.(string), "<project>-") {
						return false
					}
				}
			}
			return true
		},
	},
	{
		Field:  "container.Image",
		Ours:   "`<project>-<service>`",
		Peer:   "`<project>_<service>`",
		Reason: "the image of a service with build: and no image: is named as each tool names it; in a deploy bluegreen also tags it with the deploy id (`<project>-<service>:<deploy id>`), so that the previous color keeps its image for a rollback.",
		Match: func(ours, peer any) bool {
			o, p := ours.(string), peer.(string)
			return strings.HasPrefix(o, "<project>-") && strings.ReplaceAll(p, "_", "-") == o
		},
	},
	{
		Field:  "container.Healthcheck",
		Ours:   "the image's HEALTHCHECK",
		Peer:   "`NONE`",
		Reason: "for `healthcheck: {disable: false}` docker-compose v1 turns the check off whenever the key disable is present; docker compose v2 turns it off only for disable: true, and so do we, so the image's own HEALTHCHECK stays.",
		Match: func(ours, peer any) bool {
			o, p := ours.(map[string]any), peer.(map[string]any)
			none := []string{"NONE"}
			if o == nil || p == nil || !jsonEqual(p["Test"], none) || o["Test"] == nil || jsonEqual(o["Test"], none) {
				return false
			}
			for k := range o {
				if k != "Test" && !jsonEqual(o[k], p[k]) {
					return false
				}
			}
			return len(o) == len(p)
		},
	},
	{
		Field:  "network.ComposeNetworkLabel",
		Ours:   "its key in the file (`default`)",
		Peer:   "its fixed name (`<project>-appnet`)",
		Reason: "for a network with a fixed `name:`, docker-compose v1 put that name in the com.docker.compose.network label; docker compose v2 puts the network's key in the file, as for every other network, and so do we. docker compose v2 indexes the networks it observes by this label; bluegreen finds a project's networks by name and project label and recreates one whose labels differ from the file's, so a network v1 created under a fixed name is recreated once, with the key as its label, when v1's containers have left it.",
		Match: func(ours, peer any) bool {
			o, p := ours.(string), peer.(string)
			return o != "" && !strings.Contains(o, "<project>") && strings.Contains(p, "<project>")
		},
	},
}

// knownDifferencesV2 are the ways our containers differ from docker compose
// v2's (the v2.29.7 plugin scripts/setup.sh installs), which the mapping
// follows. Each is a difference in form, or a v2.29.7 bug where we keep
// what the file says.
var knownDifferencesV2 = []knownDifference{
	{
		Field: "container.CapAdd", Ours: "`CAP_NET_ADMIN`", Peer: "`NET_ADMIN`",
		Reason: "the same capability: Docker 20.10 stores cap_add as the client sends it; docker compose v2.29.7 sends it as written, we send the CAP_ form the daemon itself uses.",
		Match:  capPrefixOnly,
	},
	{
		Field: "container.CapDrop", Ours: "`CAP_MKNOD`", Peer: "`MKNOD`",
		Reason: "as for cap_add.",
		Match:  capPrefixOnly,
	},
	{
		Field: "container.VolumesFrom", Ours: "`<container>:ro`", Peer: "`<container>`",
		Reason: "docker compose v2.29.7 drops the :ro of volumes_from: <service>:ro and mounts the volumes read-write; we keep :ro, as the file says and docker-compose v1 did.",
		Match: func(ours, peer any) bool {
			o, p := asSlice(ours), asSlice(peer)
			if len(o) != len(p) {
				return false
			}
			for i := range o {
				if o[i] != p[i] && o[i] != fmt.Sprint(p[i])+":ro" {
					return false
				}
			}
			return true
		},
	},
	{
		Field: "container.Mounts", Ours: "read-only volumes from volumes_from :ro", Peer: "read-write",
		Reason: "the mounts of volumes_from: <service>:ro, read-write in docker compose v2.29.7 (see container.VolumesFrom).",
		Match: func(ours, peer any) bool {
			o, p := asSlice(ours), asSlice(peer)
			if len(o) != len(p) {
				return false
			}
			for i := range o {
				om, ok1 := o[i].(map[string]any)
				pm, ok2 := p[i].(map[string]any)
				if !ok1 || !ok2 {
					return false
				}
				if jsonEqual(om, pm) {
					continue
				}
				if om["RW"] != false || pm["RW"] != true {
					return false
				}
				oc, pc := map[string]any{}, map[string]any{}
				for k, v := range om {
					oc[k] = v
				}
				for k, v := range pm {
					pc[k] = v
				}
				delete(oc, "RW")
				delete(pc, "RW")
				if !jsonEqual(oc, pc) {
					return false
				}
			}
			return true
		},
	},
	{
		Field: "container.NetworkMode", Ours: "the primary network's name", Peer: "its id",
		Reason: "the same network: docker compose v2.29.7 names an external primary network by its id, we by its name, as docker-compose v1 did.",
		Match: func(ours, peer any) bool {
			o, _ := ours.(string)
			return peer == "<container id>" && o != "" && !strings.Contains(o, "<container id>") && !strings.Contains(o, ":")
		},
	},
	{
		Field: "container.ExposedPorts", Ours: "`9000/tcp`, `9100/udp`, `9101/udp`", Peer: "`9000`, `9100-9101/udp`",
		Reason: "the same ports: docker compose v2.29.7 passes expose: entries as written and Docker 20.10 stores them so; we expand ranges and add the default tcp, as docker-compose v1 did.",
		Match: func(ours, peer any) bool {
			o, _ := ours.(map[string]any)
			p, _ := peer.(map[string]any)
			expanded := map[string]any{}
			for k := range p {
				ports, proto, _ := strings.Cut(k, "/")
				if proto == "" {
					proto = "tcp"
				}
				lo, hi, isRange := strings.Cut(ports, "-")
				a, err1 := strconv.Atoi(lo)
				b := a
				var err2 error
				if isRange {
					b, err2 = strconv.Atoi(hi)
				}
				if err1 != nil || err2 != nil {
					return false
				}
				for n := a; n <= b; n++ {
					expanded[fmt.Sprintf("%d/%s", n, proto)] = map[string]any{}
				}
			}
			return len(o) > 0 && jsonEqual(o, expanded)
		},
	},
}

// capPrefixOnly matches capability lists that differ only in the CAP_
// prefix the daemon adds for newer API versions.
func capPrefixOnly(ours, peer any) bool {
	o, p := asSlice(ours), asSlice(peer)
	if len(o) != len(p) {
		return false
	}
	for i := range o {
		if o[i] != "CAP_"+strings.TrimPrefix(p[i].(string), "CAP_") {
			return false
		}
	}
	return true
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

var updateDoc = flag.Bool("update", false, "rewrite the table in KNOWN-DIFFERENCES.md from knownDifferences")

// Markers around the generated table in KNOWN-DIFFERENCES.md.
const (
	tableStart = "<!-- table: generated from knownDifferences in conformance_test.go -->"
	tableEnd   = "<!-- end of table -->"
)

// knownDifferencesTable renders knownDifferences as the Markdown table the
// README repeats.
func knownDifferencesTable() string {
	var b strings.Builder
	b.WriteString("| Field | bluegreen (like docker compose v2) | docker-compose v1.29 | Why |\n")
	b.WriteString("|---|---|---|---|\n")
	for _, kd := range knownDifferences {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", kd.Field, kd.Ours, kd.Peer, kd.Reason)
	}
	return b.String()
}

// TestKnownDifferencesDocumented keeps KNOWN-DIFFERENCES.md equal to the
// table the conformance test enforces; -update rewrites it.
func TestKnownDifferencesDocumented(t *testing.T) {
	t.Parallel()
	const path = "KNOWN-DIFFERENCES.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start, end := strings.Index(doc, tableStart), strings.Index(doc, tableEnd)
	if start < 0 || end < start {
		t.Fatalf("%s lacks the markers %q and %q", path, tableStart, tableEnd)
	}
	want := doc[:start+len(tableStart)] + "\n" + knownDifferencesTable() + doc[end:]
	if want == doc {
		return
	}
	if *updateDoc {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with knownDifferences: run go test ./internal/compose -run TestKnownDifferencesDocumented -update", path)
}

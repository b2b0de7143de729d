package compose

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
)

// interpolationMarker stands for every variable while an env file is
// parsed a second time, so that the values interpolation touches show it.
const interpolationMarker = "\x00bluegreen-variable\x00"

// EnvFileWarnings names the file and key of each env_file value that
// interpolation changes: docker compose v2, and so bluegreen, expands $x
// and ${x} inside env_file values, while docker-compose 1.29, which the
// seed's deploy.sh ran, kept them as written. A password such as s3cr"et$x
// silently loses its tail when x is not set. The values themselves are
// never shown: env files hold secrets.
func EnvFileWarnings(p *types.Project) []string {
	var out []string
	seen := map[string]bool{}
	for _, name := range p.ServiceNames() {
		for _, f := range p.Services[name].EnvFiles {
			if seen[f.Path] || f.Format == "raw" {
				continue
			}
			seen[f.Path] = true
			keys, unset := interpolatedKeys(p, f.Path)
			for _, key := range keys {
				why := "it refers to a variable"
				if vars := unset[key]; len(vars) > 0 {
					why = fmt.Sprintf("it refers to %s, which is not set, so that part of the value becomes empty", strings.Join(vars, ", "))
				}
				out = append(out, fmt.Sprintf("env_file %s: the value of %s contains $, which docker compose interpolates (docker-compose 1.29 kept it as written): %s; "+
					"if the $ is meant literally (a password, say), write it as $$", relPath(p, f.Path), key, why))
			}
		}
	}
	return out
}

// interpolatedKeys parses an env file with every variable standing for a
// marker and returns the keys whose values carry it, sorted, with the
// variables each refers to that p's environment does not set.
func interpolatedKeys(p *types.Project, path string) ([]string, map[string][]string) {
	data, err := readSmallFile(path, MaxFileSize)
	if err != nil {
		return nil, nil // Load read it already; a race is Load's to report
	}
	values, err := dotenv.ParseWithLookup(bytes.NewReader(data), func(name string) (string, bool) {
		return interpolationMarker + name + interpolationMarker, true
	})
	if err != nil {
		return nil, nil
	}
	var keys []string
	unset := map[string][]string{}
	for key, v := range values {
		if !strings.Contains(v, interpolationMarker) {
			continue
		}
		keys = append(keys, key)
		parts := strings.Split(v, interpolationMarker)
		for i := 1; i < len(parts); i += 2 {
			_, inEnv := p.Environment[parts[i]]
			_, inFile := values[parts[i]] // the file's own earlier keys count too
			if !inEnv && !inFile && !contains(unset[key], parts[i]) {
				unset[key] = append(unset[key], parts[i])
			}
		}
	}
	sort.Strings(keys)
	return keys, unset
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

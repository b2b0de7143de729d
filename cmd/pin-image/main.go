// Command pin-image makes action.yml name the action's image by digest.
//
// A user who pins the action to a release tag or to a commit SHA (GitHub's
// advice for third-party actions) must run exactly the image that release
// built. action.yml on main names the moving tag (…:v1); the release
// workflow builds and pushes the image, runs this command with the digest
// the registry returned, commits the result and points the release tags at
// that commit, so the tagged commit's action.yml reads
// docker://ghcr.io/bluegreen-action/bluegreen@sha256:<digest>.
//
//	go run ./cmd/pin-image -digest sha256:<64 hex> [-image ghcr.io/bluegreen-action/bluegreen] [action.yml]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
)

// defaultImage is the repository release.yml pushes to.
const defaultImage = "ghcr.io/bluegreen-action/bluegreen"

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("pin-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	digest := fs.String("digest", "", "the pushed image's digest, sha256:<64 hex>")
	image := fs.String("image", defaultImage, "the image repository")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	path := "action.yml"
	if fs.NArg() > 0 {
		path = fs.Arg(0)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "pin-image: failed to read %s: %v\n", path, err)
		return 1
	}
	out, err := Pin(data, *image, *digest)
	if err != nil {
		fmt.Fprintf(stderr, "pin-image: %s: %v\n", path, err)
		return 1
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		fmt.Fprintf(stderr, "pin-image: failed to write %s: %v\n", path, err)
		return 1
	}
	fmt.Fprintf(stderr, "pin-image: %s now runs docker://%s@%s\n", path, *image, *digest)
	return 0
}

var (
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	imageRE  = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(\.[a-z0-9-]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$`)
	// runsImageRE is the one line of action.yml that names the image,
	// indented under runs:.
	runsImageRE = regexp.MustCompile(`(?m)^(  image: )docker://\S+$`)
)

// Pin returns action.yml with its runs.image naming image by digest. It
// refuses a malformed digest or repository, and an action.yml without
// exactly one docker:// image line, rather than write something the runner
// would reject at a user's deploy.
func Pin(actionYML []byte, image, digest string) ([]byte, error) {
	if !digestRE.MatchString(digest) {
		return nil, fmt.Errorf("digest %q is not sha256:<64 lower-case hex>", digest)
	}
	if !imageRE.MatchString(image) {
		return nil, fmt.Errorf("image %q is not a registry repository such as %s", image, defaultImage)
	}
	matches := runsImageRE.FindAllIndex(actionYML, -1)
	if len(matches) != 1 {
		return nil, errors.New("want exactly one line `  image: docker://…` under runs:")
	}
	m := matches[0]
	var b bytes.Buffer
	b.Write(actionYML[:m[0]])
	fmt.Fprintf(&b, "  image: docker://%s@%s", image, digest)
	b.Write(actionYML[m[1]:])
	return b.Bytes(), nil
}

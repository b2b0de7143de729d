package compose

// What a failed build says in the log: the builder's own message, except
// where it would quote the Dockerfile.

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	// nonZeroRE finds the classic builder's report of a failed RUN step,
	// which quotes the step's command from the Dockerfile.
	nonZeroRE = regexp.MustCompile(`returned a non-zero code: (\d+)`)
	// parseErrorRE finds a Dockerfile the builder could not parse; its
	// message quotes the line.
	parseErrorRE = regexp.MustCompile(`(?i)(dockerfile parse error|unknown instruction|parse error on line|file with no instructions|unknown flag|instruction must be)`)
	lineRE       = regexp.MustCompile(`(?i)line (\d+)`)
)

// safeBuildError keeps the builder's error out of the log where it would
// quote the Dockerfile: a Dockerfile may be any file the compose file
// names, and the log and summary are public to whoever reads the run. The
// build output above, in its own collapsed group, still has the steps.
func safeBuildError(msg string) string {
	msg = strings.TrimSpace(msg)
	if m := nonZeroRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("a build step's command exited with code %s (its output is in the build log above; the command is not repeated here)", m[1])
	}
	if parseErrorRE.MatchString(msg) {
		at := ""
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			at = " on line " + m[1]
		}
		return fmt.Sprintf("the builder could not read the Dockerfile%s (its message is not shown, because it quotes the Dockerfile): check that build.dockerfile names a Dockerfile", at)
	}
	if len(msg) > maxBuildError {
		msg = msg[:maxBuildError] + "…"
	}
	return msg
}

// buildKitHint explains a classic builder's failure on a BuildKit feature.
func buildKitHint(msg string) string {
	m := strings.ToLower(msg)
	if strings.Contains(m, "buildkit") || strings.Contains(m, "--mount") || strings.Contains(m, "--chmod") || strings.Contains(m, "--link") || strings.Contains(m, "<<") {
		return " (this Dockerfile uses a BuildKit feature; bluegreen builds with the Docker Engine API's classic builder: " +
			"build the image in an earlier workflow step, for example with docker/build-push-action, and set image:)"
	}
	return ""
}

package compose

// A compose file is untrusted input, and compose-file can name any file
// on the host the action runs on as root. These guards keep a wrong or
// hostile file from exhausting the host's memory or from putting its text
// into the job log.

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// MaxFileSize is the largest compose or env file Load reads. compose-go
// holds about twelve times a file's size in memory while loading it (a
// 50 MB file took 600 MB), so 1 MiB costs a few MB at most, while the
// largest real compose files, with hundreds of services, are a few hundred
// KB.
const MaxFileSize = 1 << 20

var (
	// ErrFileTooLarge is returned for a compose or env file over
	// MaxFileSize.
	ErrFileTooLarge = errors.New("file too large")
	// ErrInvalidYAML is returned for a compose file that is not YAML. The
	// error gives the file and the position, never the text there.
	ErrInvalidYAML = errors.New("not valid YAML")
	// ErrNotCompose is returned for a file whose top-level keys are not a
	// compose file's; the keys are not named.
	ErrNotCompose = errors.New("not a compose file")
)

// checkFile refuses what compose-go must not read: a directory, anything
// but a regular file (a FIFO or /dev/zero would be read without end), or
// a file over MaxFileSize. kind is "compose file" or "env file".
func checkFile(kind, path string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("failed to read %s %s: %w", kind, path, err)
	case st.IsDir():
		return fmt.Errorf("failed to read %s %s: it is a directory, not a file", kind, path)
	case !st.Mode().IsRegular():
		return fmt.Errorf("failed to read %s %s: it is not a regular file (%s)", kind, path, st.Mode().Type())
	case st.Size() > MaxFileSize:
		return fmt.Errorf("failed to read %s %s: %w: it has %d bytes and the limit is %d (1 MiB); is it the right file?", kind, path, ErrFileTooLarge, st.Size(), MaxFileSize)
	}
	return nil
}

var (
	// yamlErrorRE finds compose-go's report of a file that is not YAML:
	// "failed to parse <file>: yaml: <message with positions>".
	yamlErrorRE = regexp.MustCompile(`(?s)failed to parse (.+?): (yaml: .*)$`)
	// yamlPositionRE finds the positions in a YAML parser's message.
	yamlPositionRE = regexp.MustCompile(`line \d+(?:, column \d+)?|offset \d+`)
	// topLevelKeysRE finds a schema error about unknown top-level keys,
	// which compose-go reports with no path before "additional
	// properties".
	topLevelKeysRE = regexp.MustCompile(`(?s)validating (.+?):\s+additional propert(?:y|ies) .* not allowed`)
)

// redact replaces a loader error that would quote a file's text (the YAML
// parser quotes the offending token; the schema quotes unknown top-level
// keys) with one that gives the file and the position only. A file given
// as compose-file may be any file on the host, holding secrets; errors
// about files that are compose files (a service's unknown key, a bad
// value) are kept, because they name what to fix.
func redact(err error) error {
	msg := err.Error()
	if m := yamlErrorRE.FindStringSubmatch(msg); m != nil {
		var where []string
		for _, p := range yamlPositionRE.FindAllString(m[2], -1) {
			if len(where) == 0 || where[len(where)-1] != p {
				where = append(where, p)
			}
		}
		at := ""
		if len(where) > 0 {
			at = " at " + strings.Join(where, " and ")
		}
		return fmt.Errorf("failed to parse compose file %s: %w%s (the text there is not shown, in case it is not a compose file); check the indentation and quoting there", m[1], ErrInvalidYAML, at)
	}
	if m := topLevelKeysRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("failed to load compose file %s: %w: it has top-level keys a compose file cannot have (compose knows services, networks, volumes, configs, secrets, include, name and x- extensions; the keys are not shown, in case it is not a compose file)", m[1], ErrNotCompose)
	}
	return err
}

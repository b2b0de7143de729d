package report

import (
	"cmp"
	"encoding/base64"
	"slices"
	"strings"
)

// redacted is what a secret turns into. It holds no ':', '#', '[' or
// white space, so replacing a secret cannot make a command prefix appear.
const redacted = "***"

// Mask hides secret in everything the Reporter prints or writes from now
// on: log lines, annotations, outputs and the summary, in Actions and by
// hand alike. In Actions the runner is also told (::add-mask::), so that
// it masks the value in lines other programs print. A secret of several
// lines is masked line by line as well, because the runner matches one
// line at a time. Empty and all-blank values are ignored: masking them
// would blank the whole log, and the runner refuses them too.
func (r *Reporter) Mask(secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maskLocked(secret)
}

// MaskBasicAuth masks pass and the forms the pair takes in an HTTP Basic
// authorization header or a Docker config.json "auth" field:
// base64("user:pass") in the standard and URL alphabets, padded and not.
// A registry that echoes the request's header in an error message then
// prints "Basic ***". Nothing is masked when pass is empty.
func (r *Reporter) MaskBasicAuth(user, pass string) {
	if pass == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.maskLocked(pass)
	cred := []byte(user + ":" + pass)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		r.maskLocked(enc.EncodeToString(cred))
	}
}

func (r *Reporter) maskLocked(secret string) {
	if strings.TrimSpace(secret) == "" {
		return
	}
	values := []string{secret}
	for _, line := range strings.FieldsFunc(secret, func(c rune) bool { return c == '\n' || c == '\r' }) {
		if strings.TrimSpace(line) != "" && line != secret {
			values = append(values, line)
		}
	}
	added := false
	for _, v := range values {
		if slices.Contains(r.secrets, v) {
			continue
		}
		r.secrets = append(r.secrets, v)
		added = true
		if r.actions {
			// The value goes out as it is: this is the one line that
			// must carry it. go-githubactions encodes \r, \n and % in
			// it, so it stays a single ::add-mask:: line.
			r.gha.AddMask(v)
		}
	}
	if !added {
		return
	}
	// Longest first, so that a secret containing another is hidden
	// whole rather than leaving its remainder visible.
	sorted := slices.Clone(r.secrets)
	slices.SortFunc(sorted, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(sorted))
	for _, s := range sorted {
		pairs = append(pairs, s, redacted)
	}
	r.redactor = strings.NewReplacer(pairs...)
}

// redactLocked replaces every masked secret in s. It runs before any
// other cleaning, so that cutting or escaping never splits a secret into
// pieces that no longer match.
func (r *Reporter) redactLocked(s string) string {
	if r.redactor == nil {
		return s
	}
	return r.redactor.Replace(s)
}

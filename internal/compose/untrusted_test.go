package compose

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRefusesLargeAndOddFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, size int) string {
		t.Helper()
		head := "services:\n  web:\n    image: example/web:1\n"
		body := head + "#" + strings.Repeat("x", size-len(head)-2) + "\n"
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	atLimit := write("at-limit.yml", MaxFileSize)
	over := write("over.yml", MaxFileSize+1)
	overEnv := write("over.env", MaxFileSize+1)
	if _, err := Load(context.Background(), LoadOptions{ProjectName: "p", Files: []string{atLimit}}); err != nil {
		t.Fatalf("a file of exactly MaxFileSize: %v", err)
	}
	tests := []struct {
		name  string
		opts  LoadOptions
		is    error
		wants []string
	}{
		{"compose file", LoadOptions{ProjectName: "p", Files: []string{atLimit, over}}, ErrFileTooLarge, []string{"compose file " + over, "1048577 bytes", "limit is 1048576 (1 MiB)"}},
		{"env file", LoadOptions{ProjectName: "p", Files: []string{atLimit}, EnvFiles: []string{overEnv}}, ErrFileTooLarge, []string{"env file " + overEnv}},
		{"device", LoadOptions{ProjectName: "p", Files: []string{"/dev/zero"}}, nil, []string{"/dev/zero", "not a regular file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(context.Background(), tc.opts)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestLoadErrorsDoNotQuoteTheFile gives Load files that are not compose
// files and hold a secret, as a root-only file named in compose-file
// would: the error names the file and a position, never the text.
func TestLoadErrorsDoNotQuoteTheFile(t *testing.T) {
	t.Parallel()
	const secret = "hunter2"
	tests := []struct {
		name, content string
		is            error
		wants         []string
	}{
		{"env file", "SECRET=hunter2\nOTHER: x\n", ErrInvalidYAML, []string{"line 2, column 6"}},
		{"env file with a colon", "SECRET=hunter2: x\n", ErrNotCompose, []string{"top-level keys"}},
		{"binary", "\x00\x01hunter2\xff\xfe", ErrInvalidYAML, []string{"offset 0"}},
		{"unterminated quote", "services:\n  web:\n    image: \"hunter2\n", ErrInvalidYAML, []string{"line 3, column 12"}},
		{"unknown anchor", "services: *hunter2\n", ErrInvalidYAML, []string{"line 1"}},
		{"unknown tag", "a: !!binary hunter2\n", ErrInvalidYAML, []string{"line 1"}},
		{"json credentials", `{"auths": {"ghcr.io": {"auth": "hunter2"}}, "hunter2": 1}`, ErrNotCompose, nil},
		{"passwd", "root:hunter2:0:0:root:/root:/bin/bash\n", nil, []string{"top-level object must be a mapping"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := filepath.Join(t.TempDir(), "secret")
			if err := os.WriteFile(f, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(context.Background(), LoadOptions{ProjectName: "p", Files: []string{f}})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error quotes the file: %v", err)
			}
			if !strings.Contains(err.Error(), f) {
				t.Errorf("error %q does not name the file", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

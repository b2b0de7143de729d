package hosthelper

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteFiles(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "bluegreen", "_deploys")
	dir := filepath.Join(root, "app", "20260101T000000Z-abcdef")
	files := []File{
		{Path: "docker-compose.yml", Mode: 0o644, Data: []byte("services: {}\n")},
		{Path: "conf/app.yml", Mode: 0o600, Data: []byte("a: 1\n")},
		{Path: "bin/run.sh", Mode: 0o4755, Data: []byte("#!/bin/sh\n")},
	}
	require.NoError(t, writeFiles(root, dir, files))
	// Twice: a rollout's status, deploy and rollback runs share the directory.
	require.NoError(t, writeFiles(root, dir, files))
	data, err := os.ReadFile(filepath.Join(dir, "conf", "app.yml"))
	require.NoError(t, err)
	require.Equal(t, "a: 1\n", string(data))
	st, err := os.Stat(filepath.Join(dir, "bin", "run.sh"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), st.Mode().Perm(), "permission bits only, no setuid")
	for _, d := range []string{root, filepath.Dir(root)} {
		st, err = os.Stat(d)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "%s is private", d)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "conf"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temp file is left")
}

func TestWriteFilesRefuses(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "bluegreen")
	ok := filepath.Join(root, "app", "r1")
	cases := []struct {
		name string
		dir  string
		path string
		want string
	}{
		{"dir outside the root", filepath.Join(t.TempDir(), "app", "r1"), "a", "is not"},
		{"dir too shallow", filepath.Join(root, "app"), "a", "is not"},
		{"dir with ..", root + "/app/../../etc/r1", "a", "is not"},
		{"absolute file", ok, "/etc/passwd", "must stay inside"},
		{"climbing file", ok, "../../x", "must stay inside"},
		{"sneaky file", ok, "a/../../b", "must stay inside"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := writeFiles(root, c.dir, []File{{Path: c.path, Mode: 0o644, Data: []byte("x")}})
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestWriteFilesIsPrivate: a rollout's directory and everything above it
// is root's alone (0700), an existing one left readable by an older
// bluegreen included; a file keeps the mode the runner gave it less
// group and other write, and a directory inside is opened (0755) only
// when it holds a file others may read through a container's mount.
func TestWriteFilesIsPrivate(t *testing.T) {
	t.Parallel()
	base := filepath.Join(t.TempDir(), "bluegreen")
	root := filepath.Join(base, "_deploys")
	dir := filepath.Join(root, "app", "20260101T000000Z-abcdef")
	for _, d := range []string{base, root, filepath.Join(root, "app")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
		require.NoError(t, os.Chmod(d, 0o755))
	}
	files := []File{
		{Path: "docker-compose.yml", Mode: 0o600, Data: []byte("services: {}\n")},
		{Path: "env/app.env", Mode: 0o600, Data: []byte("A=1\n")},
		{Path: "conf/nginx/site.conf", Mode: 0o666, Data: []byte("server {}\n")},
	}
	require.NoError(t, writeFiles(root, dir, files))
	modes := map[string]os.FileMode{}
	for _, p := range []string{base, root, filepath.Join(root, "app"), dir, filepath.Join(dir, "env"), filepath.Join(dir, "conf"), filepath.Join(dir, "conf", "nginx"),
		filepath.Join(dir, "docker-compose.yml"), filepath.Join(dir, "env", "app.env"), filepath.Join(dir, "conf", "nginx", "site.conf")} {
		st, err := os.Stat(p)
		require.NoError(t, err)
		rel, _ := filepath.Rel(base, p)
		modes[rel] = st.Mode().Perm()
	}
	require.Equal(t, map[string]os.FileMode{
		".": 0o700, "_deploys": 0o700, "_deploys/app": 0o700, "_deploys/app/20260101T000000Z-abcdef": 0o700,
		"_deploys/app/20260101T000000Z-abcdef/env":                  0o700,
		"_deploys/app/20260101T000000Z-abcdef/conf":                 0o755,
		"_deploys/app/20260101T000000Z-abcdef/conf/nginx":           0o755,
		"_deploys/app/20260101T000000Z-abcdef/docker-compose.yml":   0o600,
		"_deploys/app/20260101T000000Z-abcdef/env/app.env":          0o600,
		"_deploys/app/20260101T000000Z-abcdef/conf/nginx/site.conf": 0o644,
	}, modes)
}

package compose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPublishOnColorPort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ports string
		wantNote    string // "" for no change
		wantHost    string // host_ip:published after the call
	}{
		{"fixed host port", `["3000:8080"]`, "service web publishes 3000:8080 in the compose file; green publishes container port 8080 on 0.0.0.0:8082 instead (green-port)", ":8082"},
		{"host IP kept", `["127.0.0.1:3000:8080"]`, "publishes 127.0.0.1:3000:8080 in the compose file; green publishes container port 8080 on 127.0.0.1:8082 instead", "127.0.0.1:8082"},
		{"already the color's port", `["8082:8080"]`, "", ":8082"},
		{"a range holding the color's port", `["8081-8083:8080"]`, "", ":8081-8083"},
		{"two fixed ports", `["3000:8080", "3001:8081"]`, "", ":3000"},
		{"one fixed and one unpublished", `["3000:8080", "9000"]`, "publishes 3000:8080", ":8082"},
		{"a range only", `["3000-3001:8080"]`, "", ":3000-3001"},
		{"udp", `["3000:8080/udp"]`, "", ":3000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := loadYAML(t, svc("ports: "+tt.ports))
			note := PublishOnColorPort(p, "web", 8082, "green")
			if tt.wantNote == "" && note != "" || tt.wantNote != "" && !strings.Contains(note, tt.wantNote) {
				t.Errorf("note = %q, want %q", note, tt.wantNote)
			}
			var first string
			for _, pc := range p.Services["web"].Ports {
				if pc.Published != "" {
					first = pc.HostIP + ":" + pc.Published
					break
				}
			}
			if first != tt.wantHost {
				t.Errorf("published %s, want %s", first, tt.wantHost)
			}
		})
	}
}

func TestPlatformProblems(t *testing.T) {
	t.Parallel()
	p := loadYAML(t, `services:
  web:
    image: example/web:1
    platform: linux/amd64
  x86:
    image: example/web:1
    platform: linux/x86_64
  arm:
    image: example/web:1
    platform: linux/arm64/v8
  none:
    image: example/web:1
`)
	got := PlatformProblems(p, "linux", "amd64")
	if len(got) != 1 || !strings.Contains(got[0], `service "arm": platform "linux/arm64/v8" is not this Docker host's (linux/amd64)`) {
		t.Errorf("problems = %q, want only arm's", got)
	}
	if err := Check(p); err != nil {
		t.Errorf("Check refuses platform: %v", err)
	}
}

func TestEnvFileWarnings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envFile := `PASSWORD=s3cr"et$x
LITERAL='single$quoted'
ESCAPED=dollar$$sign
HOME_DIR=${KNOWN}/data
PLAIN=value
`
	if err := os.WriteFile(filepath.Join(dir, "app.env"), []byte(envFile), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "compose.yml")
	if err := os.WriteFile(file, []byte(svc("env_file: app.env")), 0o644); err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, LoadOptions{ProjectName: "x", Files: []string{file}, Environment: map[string]string{"KNOWN": "/srv"}})
	got := strings.Join(EnvFileWarnings(p), "\n")
	for _, want := range []string{
		"env_file app.env: the value of PASSWORD contains $, which docker compose interpolates (docker-compose 1.29 kept it as written): it refers to x, which is not set",
		"write it as $$",
		"env_file app.env: the value of HOME_DIR contains $",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings do not say %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"LITERAL", "ESCAPED", "PLAIN", "s3cr", "/srv"} {
		if strings.Contains(got, not) {
			t.Errorf("warnings mention %q:\n%s", not, got)
		}
	}
	if n := len(EnvFileWarnings(p)); n != 2 {
		t.Errorf("%d warnings, want 2", n)
	}
}

// TestPathProblems holds that what the action ships into containers stays
// inside the working directory, links resolved: a compose secret
// s.txt -> /proc/self/environ would hand the action's environment to the app.
func TestPathProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outside := t.TempDir()
	for name, target := range map[string]string{"s.txt": "/proc/self/environ", "app.env": filepath.Join(outside, "x.env"), "Dockerfile.link": "/etc/hostname"} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(outside, "x.env"), filepath.Join(dir, "ok.txt"), filepath.Join(dir, "Dockerfile")} {
		if err := os.WriteFile(f, []byte("A=1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	content := `services:
  web:
    image: example/web:1
    env_file: app.env
    secrets: [s, ok]
    configs: [c]
  built:
    build: {context: ., dockerfile: Dockerfile.link}
  shadow:
    build: {context: ., dockerfile: /etc/shadow}
  fine:
    build: .
secrets:
  s: {file: s.txt}
  ok: {file: ok.txt}
configs:
  c: {file: /etc/hostname}
`
	file := filepath.Join(dir, "compose.yml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, LoadOptions{ProjectName: "x", Files: []string{file}})
	got := problemText(pathProblems(p))
	for _, want := range []string{
		`service "web": secrets.s: secret file s.txt: it is a symbolic link that leads outside the working directory`,
		`service "web": env_file: env file app.env: it is a symbolic link that leads outside`,
		`service "web": configs.c: config file /etc/hostname: it is outside the working directory`,
		`service "built": build.dockerfile: Dockerfile Dockerfile.link: it is a symbolic link that leads outside`,
		`service "shadow": build.dockerfile: Dockerfile /etc/shadow: it is outside the working directory`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not say %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ok.txt") || strings.Contains(got, `"fine"`) {
		t.Errorf("a file inside the working directory was refused:\n%s", got)
	}
	if err := Check(p); err == nil || !strings.Contains(err.Error(), "secrets.s") {
		t.Errorf("Check does not refuse them: %v", err)
	}
}

func TestSafeBuildErrorNeverQuotesTheDockerfile(t *testing.T) {
	t.Parallel()
	tests := []struct{ msg, want, secret string }{
		{"dockerfile parse error line 1: unknown instruction: ROOT:$6$SALTHASH:19000:0:99999:7:::", "could not read the Dockerfile on line 1", "SALTHASH"},
		{"The command '/bin/sh -c echo TOPSECRET && exit 3' returned a non-zero code: 3", "exited with code 3", "TOPSECRET"},
		{"pull access denied for nosuch, repository does not exist", "pull access denied for nosuch", ""},
	}
	for _, tt := range tests {
		got := safeBuildError(tt.msg)
		if !strings.Contains(got, tt.want) || tt.secret != "" && strings.Contains(got, tt.secret) {
			t.Errorf("safeBuildError(%q) = %q, want %q and not %q", tt.msg, got, tt.want, tt.secret)
		}
	}
}

func TestNameContainersByColor(t *testing.T) {
	t.Parallel()
	p := loadNamed(t, "app-green", `services:
  app:
    image: example/web:1
    container_name: listmonk_app
  seed:
    image: example/web:1
    container_name: spring-green
  db:
    image: example/db:1
    container_name: listmonk_db
  plain:
    image: example/web:1
`)
	roles, _ := ClassifyServices(p, Declared{Traffic: "app", Shared: []string{"db"}})
	notes := NameContainersByColor(p, roles, "green")
	want := map[string]string{"app": "listmonk_app-green", "seed": "spring-green", "db": "listmonk_db", "plain": ""}
	for name, cn := range want {
		if got := p.Services[name].ContainerName; got != cn {
			t.Errorf("container_name of %s = %q, want %q", name, got, cn)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], `service app sets container_name "listmonk_app"; green names it "listmonk_app-green"`) {
		t.Errorf("notes = %q", notes)
	}
}

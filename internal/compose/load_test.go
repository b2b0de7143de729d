package compose

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func testdata(t *testing.T, parts ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, opts LoadOptions) *types.Project {
	t.Helper()
	p, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

func env(p types.ServiceConfig, key string) string {
	v := p.Environment[key]
	if v == nil {
		return "<unset>"
	}
	return *v
}

func TestLoadSeedFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		color, container, published string
	}{
		{"blue", "spring-backend-blue", "8081"},
		{"green", "spring-backend-green", "8082"},
	} {
		t.Run(tc.color, func(t *testing.T) {
			t.Parallel()
			file := testdata(t, "seed", "docker-compose."+tc.color+".yml")
			p := mustLoad(t, LoadOptions{ProjectName: "spring-backend-" + tc.color, Files: []string{file}})
			if err := Check(p); err != nil {
				t.Fatalf("Check: %v", err)
			}
			s := p.Services["spring-backend"]
			if s.ContainerName != tc.container {
				t.Errorf("container_name = %q, want %q", s.ContainerName, tc.container)
			}
			if len(s.Ports) != 1 || s.Ports[0].Published != tc.published || s.Ports[0].Target != 8080 {
				t.Errorf("ports = %+v, want %s:8080", s.Ports, tc.published)
			}
			if got := env(s, "SPRING_PROFILES_ACTIVE"); got != "prod" {
				t.Errorf("env_file .env not applied: SPRING_PROFILES_ACTIVE = %q", got)
			}
			wantLabels := map[string]string{
				LabelProject:     "spring-backend-" + tc.color,
				LabelService:     "spring-backend",
				LabelOneoff:      "False",
				LabelWorkingDir:  filepath.Dir(file),
				LabelConfigFiles: file,
				LabelVersion:     ComposeVersion,
			}
			for k, v := range wantLabels {
				if s.CustomLabels[k] != v {
					t.Errorf("label %s = %q, want %q", k, s.CustomLabels[k], v)
				}
			}
			if _, ok := s.CustomLabels[LabelEnvironmentFile]; ok {
				t.Errorf("environment_file label set without explicit env files")
			}
			if got := containerName(p.Name, s, 1); got != tc.container {
				t.Errorf("containerName = %q, want %q", got, tc.container)
			}
		})
	}
}

func TestLoadInterpolation(t *testing.T) {
	t.Parallel()
	file := testdata(t, "interp", "compose.yml")
	base := map[string]string{"BLUEGREEN_COLOR": "green", "BLUEGREEN_PORT": "8082", "FROM_HOST": "host-value"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name                      string
		opts                      LoadOptions
		wantImage, wantGreeting   string
		wantEnvFileLabel          string
		wantFromHost, wantColorIn string
	}{
		{
			name:      "dotenv in working dir",
			opts:      LoadOptions{ProjectName: "app-green", Files: []string{file}, Environment: base},
			wantImage: "registry.example.com/app:from-dotenv", wantGreeting: "from-dotenv",
			wantFromHost: "host-value",
		},
		{
			name:      "environment wins over dotenv",
			opts:      LoadOptions{ProjectName: "app-green", Files: []string{file}, Environment: with(map[string]string{"APP_TAG": "from-env"})},
			wantImage: "registry.example.com/app:from-env", wantGreeting: "from-dotenv",
			wantFromHost: "host-value",
		},
		{
			name:      "explicit env file replaces dotenv",
			opts:      LoadOptions{ProjectName: "app-green", Files: []string{file}, EnvFiles: []string{"custom.env"}, Environment: base},
			wantImage: "registry.example.com/app:from-custom", wantGreeting: "hello",
			wantEnvFileLabel: testdata(t, "interp", "custom.env"),
			wantFromHost:     "host-value",
		},
		{
			name:      "dotenv disabled",
			opts:      LoadOptions{ProjectName: "app-green", Files: []string{file}, Environment: with(map[string]string{"COMPOSE_DISABLE_ENV_FILE": "true", "APP_TAG": "x"})},
			wantImage: "registry.example.com/app:x", wantGreeting: "hello",
			wantFromHost: "host-value",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustLoad(t, tc.opts)
			s := p.Services["app"]
			if s.Image != tc.wantImage {
				t.Errorf("image = %q, want %q", s.Image, tc.wantImage)
			}
			if s.ContainerName != "app-green" {
				t.Errorf("container_name = %q, want app-green", s.ContainerName)
			}
			if s.Ports[0].Published != "8082" || s.Ports[0].HostIP != "127.0.0.1" {
				t.Errorf("port = %+v, want 127.0.0.1:8082", s.Ports[0])
			}
			if got := env(s, "GREETING"); got != tc.wantGreeting {
				t.Errorf("GREETING = %q, want %q", got, tc.wantGreeting)
			}
			if got := env(s, "COLOR"); got != "green" {
				t.Errorf("COLOR = %q, want green", got)
			}
			if got := env(s, "FROM_HOST"); got != tc.wantFromHost {
				t.Errorf("FROM_HOST (no value in the file) = %q, want %q from Environment", got, tc.wantFromHost)
			}
			if got := s.CustomLabels[LabelEnvironmentFile]; got != tc.wantEnvFileLabel {
				t.Errorf("environment_file label = %q, want %q", got, tc.wantEnvFileLabel)
			}
		})
	}
}

// TestLoadIgnoresProcessEnvironment proves that only LoadOptions.Environment
// reaches interpolation: the process environment is main's business.
func TestLoadIgnoresProcessEnvironment(t *testing.T) {
	t.Setenv("BLUEGREEN_PORT", "9999")
	t.Setenv("APP_TAG", "from-process")
	p := mustLoad(t, LoadOptions{
		ProjectName: "app-blue",
		Files:       []string{testdata(t, "interp", "compose.yml")},
		Environment: map[string]string{"BLUEGREEN_COLOR": "blue", "BLUEGREEN_PORT": "8081"},
	})
	s := p.Services["app"]
	if s.Ports[0].Published != "8081" {
		t.Errorf("published = %q, want 8081 from Environment", s.Ports[0].Published)
	}
	if s.Image != "registry.example.com/app:from-dotenv" {
		t.Errorf("image = %q: the process environment leaked into interpolation", s.Image)
	}
}

func TestLoadMergesFilesInOrder(t *testing.T) {
	t.Parallel()
	base, prod := testdata(t, "merge", "compose.yml"), testdata(t, "merge", "compose.prod.yml")
	p := mustLoad(t, LoadOptions{ProjectName: "merge-blue", Files: []string{base, prod}})
	web := p.Services["web"]
	if web.Image != "example/web:2" {
		t.Errorf("image = %q, want the override's example/web:2", web.Image)
	}
	if env(web, "LOG_LEVEL") != "warn" || env(web, "REGION") != "eu" {
		t.Errorf("environment not merged: %v", web.Environment)
	}
	if len(web.Ports) != 2 {
		t.Errorf("ports = %+v, want both files' ports", web.Ports)
	}
	if web.Labels["team"] != "web" || web.Labels["tier"] != "front" {
		t.Errorf("labels not merged: %v", web.Labels)
	}
	if got := web.CustomLabels[LabelConfigFiles]; got != base+","+prod {
		t.Errorf("config_files label = %q", got)
	}
	if _, ok := p.Services["worker"].DependsOn["web"]; !ok {
		t.Errorf("worker lost depends_on web")
	}
	if p.WorkingDir != filepath.Dir(base) {
		t.Errorf("working dir = %q, want the first file's directory", p.WorkingDir)
	}
}

func TestLoadProfiles(t *testing.T) {
	t.Parallel()
	file := testdata(t, "profiles", "compose.yml")
	tests := []struct {
		name string
		opts LoadOptions
		want []string
	}{
		{"default", LoadOptions{ProjectName: "p", Files: []string{file}}, []string{"web"}},
		{"flag", LoadOptions{ProjectName: "p", Files: []string{file}, Profiles: []string{"debug"}}, []string{"debug", "web"}},
		{"COMPOSE_PROFILES", LoadOptions{ProjectName: "p", Files: []string{file}, Environment: map[string]string{"COMPOSE_PROFILES": "debug"}}, []string{"debug", "web"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := mustLoad(t, tc.opts)
			if got := p.ServiceNames(); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("services = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yml", "services:\n  web:\n    image: example/web:1\n")
	interp := write("interp.yml", "services:\n  web:\n    image: ${IMAGE:?set IMAGE to the image to deploy}\n")
	badYAML := write("bad.yml", "services:\n  web:\n    image: [\n")
	schema := write("schema.yml", "services:\n  web:\n    imagex: foo\n")
	envFile := write("envfile.yml", "services:\n  web:\n    image: x\n    env_file: missing.env\n")
	tests := []struct {
		name  string
		opts  LoadOptions
		wants []string
		is    error
	}{
		{"no files", LoadOptions{ProjectName: "p"}, []string{"no compose file"}, ErrNoFiles},
		{"missing file", LoadOptions{ProjectName: "p", Files: []string{good, filepath.Join(dir, "nope.yml")}}, []string{"nope.yml", "no such file"}, os.ErrNotExist},
		{"interpolation in second file", LoadOptions{ProjectName: "p", Files: []string{good, interp}}, []string{"interp.yml", "set IMAGE to the image to deploy"}, nil},
		{"bad yaml", LoadOptions{ProjectName: "p", Files: []string{good, badYAML}}, []string{"bad.yml", "line 3"}, nil},
		{"schema", LoadOptions{ProjectName: "p", Files: []string{schema}}, []string{"schema.yml", "imagex"}, nil},
		{"missing env_file", LoadOptions{ProjectName: "p", Files: []string{envFile}}, []string{"missing.env"}, nil},
		{"missing --env-file", LoadOptions{ProjectName: "p", Files: []string{good}, EnvFiles: []string{"nope.env"}}, []string{"nope.env"}, os.ErrNotExist},
		{"bad project name", LoadOptions{ProjectName: "My App", Files: []string{good}}, []string{"invalid project name"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(context.Background(), tc.opts)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

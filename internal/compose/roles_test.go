package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// appYAML is an app as the issue describes it: a web service, a database
// and a cache holding state, a migration job, a worker and a scheduler.
const appYAML = `services:
  web:
    image: example/web:1
    ports: ["3000:8080"]
    depends_on:
      migrate: {condition: service_completed_successfully}
      db: {condition: service_healthy}
  db:
    image: example/postgres:16
    container_name: app-db
    ports: ["5432:5432"]
    volumes: [pgdata:/var/lib/postgresql/data]
    healthcheck: {test: ["CMD", "pg_isready"]}
    x-bluegreen: {role: shared}
  cache:
    image: example/redis:7
    volumes: [cachedata:/data]
  migrate:
    image: example/web:1
    command: ["migrate"]
    depends_on:
      db: {condition: service_healthy}
  worker:
    image: example/web:1
    depends_on: [db, cache]
  scheduler:
    image: example/web:1
    depends_on: [db]
    x-bluegreen: {role: singleton}
volumes:
  pgdata:
  cachedata:
`

func loadNamed(t *testing.T, name, content string) *types.Project {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yml")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), LoadOptions{ProjectName: name, Files: []string{file}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

func problemText(problems []Problem) string {
	var lines []string
	for _, p := range problems {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

func TestClassifyServicesGivesEveryServiceItsRole(t *testing.T) {
	t.Parallel()
	p := loadNamed(t, "app-blue", appYAML)
	roles, problems := ClassifyServices(p, Declared{Traffic: "web", Shared: []string{"cache"}})
	if len(problems) != 0 {
		t.Fatalf("problems: %s", problemText(problems))
	}
	want := map[string]Role{"web": Colored, "db": Shared, "cache": Shared, "migrate": Job, "worker": Colored, "scheduler": Singleton}
	for name, role := range want {
		if got := roles.Of(name); got != role {
			t.Errorf("role of %s = %s, want %s", name, got, role)
		}
	}
	if got := strings.Join(roles.Services(Shared), ","); got != "cache,db" {
		t.Errorf("shared services = %s, want cache,db", got)
	}
	if roles.Declared("worker") || !roles.Declared("db") || !roles.Declared("cache") {
		t.Errorf("declared: worker %t db %t cache %t, want false true true", roles.Declared("worker"), roles.Declared("db"), roles.Declared("cache"))
	}
}

func TestClassifyServicesProblems(t *testing.T) {
	t.Parallel()
	base := `services:
  web:
    image: example/web:1
    ports: ["8081:8080"]
    depends_on:
      migrate: {condition: service_completed_successfully}
  migrate:
    image: example/web:1
  db:
    image: example/db:1
`
	tests := []struct {
		name     string
		yaml     string
		declared Declared
		want     []string
	}{
		{"unknown role", base + "    x-bluegreen: {role: databse}\n", Declared{Traffic: "web"},
			[]string{`service "db": x-bluegreen.role: role "databse" is not a role: use shared`, "singleton", "colored"}},
		{"job declared in the file", base + "    x-bluegreen: {role: job}\n", Declared{Traffic: "web"},
			[]string{`service "db": x-bluegreen.role: a job is not declared`}},
		{"unknown x-bluegreen key", base + "    x-bluegreen: {roles: shared}\n", Declared{Traffic: "web"},
			[]string{`service "db": x-bluegreen.roles: x-bluegreen has no key "roles"`}},
		{"declared name that is no service", base, Declared{Traffic: "web", Shared: []string{"dbb"}},
			[]string{`shared-services: "dbb" is not a service of the compose file; its services are: db, migrate, web`}},
		{"traffic service shared", base, Declared{Traffic: "web", Shared: []string{"web"}},
			[]string{`shared-services: service "web" is the traffic service`, "cannot be shared"}},
		{"traffic service singleton in the file", strings.Replace(base, "    ports:", "    x-bluegreen: {role: singleton}\n    ports:", 1), Declared{Traffic: "web"},
			[]string{`service "web": x-bluegreen.role: service "web" is the traffic service`, "cannot be singleton"}},
		{"job declared shared", base, Declared{Traffic: "web", Shared: []string{"migrate"}},
			[]string{`shared-services: service "migrate" is a job (web waits for it with condition service_completed_successfully)`, "cannot be shared"}},
		{"job declared singleton", base, Declared{Traffic: "web", Singletons: []string{"migrate"}},
			[]string{`singleton-services: service "migrate" is a job`, "cannot be singleton"}},
		{"input and file disagree", base + "    x-bluegreen: {role: colored}\n", Declared{Traffic: "web", Shared: []string{"db"}},
			[]string{`shared-services: service "db" is listed in shared-services, but the compose file declares it x-bluegreen: {role: colored}`}},
		{"both inputs", base, Declared{Traffic: "web", Shared: []string{"db"}, Singletons: []string{"db"}},
			[]string{`singleton-services: service "db" is listed in both shared-services and singleton-services`}},
		{"shared waits for colored", base + "    depends_on: [web]\n", Declared{Traffic: "web", Shared: []string{"db"}},
			[]string{`service "db": depends_on.web: the service is shared and "web" is colored`}},
		{"colored waits for a singleton", base + "    x-bluegreen: {role: singleton}\n  worker:\n    image: example/web:1\n    depends_on: [db]\n", Declared{Traffic: "web"},
			[]string{`service "worker": depends_on.db: "db" is a singleton, which starts only after the switch`}},
		{"undeclared service with a named volume", base + "    volumes: [data:/data]\nvolumes:\n  data:\n", Declared{Traffic: "web"},
			[]string{`service "db": volumes: the service mounts the named volume "data", and its role is not declared`,
				"Make it shared if it holds state (a database, a cache: shared-services: db, or x-bluegreen: {role: shared} on the service)",
				"or mark it colored if two copies on one volume are safe (x-bluegreen: {role: colored})"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, problems := ClassifyServices(loadNamed(t, "app-blue", tt.yaml), tt.declared)
			got := problemText(problems)
			if len(problems) != 1 {
				t.Errorf("got %d problems, want 1:\n%s", len(problems), got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems do not say %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestClassifyServicesAcceptsDeclaredVolumes holds the ways out the
// volume problem names: shared, colored, a job, and the traffic service
// (which only gets a warning).
func TestClassifyServicesAcceptsDeclaredVolumes(t *testing.T) {
	t.Parallel()
	p := loadNamed(t, "app-blue", `services:
  web:
    image: example/web:1
    volumes: [uploads:/uploads]
    depends_on:
      seed: {condition: service_completed_successfully}
  seed:
    image: example/web:1
    volumes: [uploads:/uploads]
  worker:
    image: example/web:1
    volumes: [uploads:/uploads]
    x-bluegreen: {role: colored}
  db:
    image: example/db:1
    volumes: [data:/data]
volumes:
  uploads:
  data:
`)
	roles, problems := ClassifyServices(p, Declared{Traffic: "web", Shared: []string{"db"}})
	if len(problems) != 0 {
		t.Fatalf("problems: %s", problemText(problems))
	}
	w := strings.Join(roles.Warnings(), "\n")
	if !strings.Contains(w, `service "web" (the traffic service) mounts the named volume "uploads"`) {
		t.Errorf("no warning about the traffic service's volume: %q", w)
	}
	if len(roles.Warnings()) != 1 {
		t.Errorf("warnings = %q, want one", roles.Warnings())
	}
}

// TestClassifyServicesReportsEveryProblemAtOnce holds that the problems of
// a file come in one run.
func TestClassifyServicesReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	p := loadNamed(t, "app-blue", appYAML)
	_, problems := ClassifyServices(p, Declared{Traffic: "web", Shared: []string{"nope"}, Singletons: []string{"migrate"}})
	got := problemText(problems)
	for _, w := range []string{`"nope" is not a service`, `service "migrate" is a job`, `service "cache": volumes`} {
		if !strings.Contains(got, w) {
			t.Errorf("problems do not say %q:\n%s", w, got)
		}
	}
}

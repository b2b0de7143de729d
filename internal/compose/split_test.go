package compose

import (
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func splitApp(t *testing.T, content string, d Declared) Parts {
	t.Helper()
	p := loadNamed(t, "app-blue", content)
	roles, problems := ClassifyServices(p, d)
	if len(problems) != 0 {
		t.Fatalf("problems: %s", problemText(problems))
	}
	parts, err := SplitProject(p, "app", roles)
	if err != nil {
		t.Fatal(err)
	}
	return parts
}

func TestSplitProjectPutsEachServiceInItsPart(t *testing.T) {
	t.Parallel()
	parts := splitApp(t, appYAML, Declared{Traffic: "web", Shared: []string{"cache"}})
	if parts.Shared.Name != "app-shared" || parts.Color.Name != "app-blue" || parts.Singletons.Name != "app-blue" {
		t.Fatalf("project names %s, %s, %s; want app-shared, app-blue, app-blue", parts.Shared.Name, parts.Color.Name, parts.Singletons.Name)
	}
	for part, want := range map[*types.Project]string{parts.Shared: "cache,db", parts.Color: "migrate,web,worker", parts.Singletons: "scheduler"} {
		if got := strings.Join(part.ServiceNames(), ","); got != want {
			t.Errorf("project %s has %s, want %s", part.Name, got, want)
		}
	}
	db := parts.Shared.Services["db"]
	if db.ContainerName != "app-db" || db.Ports[0].Published != "5432" {
		t.Errorf("the shared db's container_name %q and host port %q must stay as written", db.ContainerName, db.Ports[0].Published)
	}
	if db.CustomLabels[LabelProject] != "app-shared" || db.CustomLabels[LabelRole] != "shared" {
		t.Errorf("db labels: project %q role %q", db.CustomLabels[LabelProject], db.CustomLabels[LabelRole])
	}
	if got := parts.Color.Services["migrate"].CustomLabels[LabelRole]; got != "job" {
		t.Errorf("migrate's role label = %q, want job", got)
	}
	if got := parts.Singletons.Services["scheduler"].CustomLabels[LabelRole]; got != "singleton" {
		t.Errorf("scheduler's role label = %q, want singleton", got)
	}
	// One volume for every part, named as docker compose names it for
	// the app: the data is never split between the colors.
	for _, part := range []*types.Project{parts.Shared, parts.Color, parts.Singletons} {
		if got := part.Volumes["pgdata"].Name; got != "app_pgdata" {
			t.Errorf("project %s: volume pgdata is %q, want app_pgdata", part.Name, got)
		}
	}
	if got := infoOf(parts.Color).Outside["db"]; got != "app-shared" {
		t.Errorf("web waits for db in project %q, want app-shared", got)
	}
	if got := infoOf(parts.Singletons).Outside["db"]; got != "app-shared" {
		t.Errorf("the scheduler waits for db in project %q, want app-shared", got)
	}
}

// TestSplitProjectJoinsTheSharedNetwork holds the networking: a colored
// service joins the shared project's network too, under its container
// name only, with its own color's network kept primary; shared services
// answer to their service names there.
func TestSplitProjectJoinsTheSharedNetwork(t *testing.T) {
	t.Parallel()
	parts := splitApp(t, appYAML, Declared{Traffic: "web", Shared: []string{"cache"}})
	if got := parts.Shared.Networks["default"].Name; got != "app-shared_default" {
		t.Errorf("shared network = %q, want app-shared_default", got)
	}
	web := parts.Color.Services["web"]
	spec, err := buildCreateSpec(parts.Color, web, 1, "", "1.41")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(spec.Host.NetworkMode); got != "app-blue_default" {
		t.Errorf("web's primary network = %s, want its color's, app-blue_default", got)
	}
	if len(spec.Connect) != 1 || spec.Connect[0].Network != "app-shared_default" {
		t.Fatalf("web also joins %v, want app-shared_default", spec.Connect)
	}
	if got := strings.Join(spec.Connect[0].Endpoint.Aliases, ","); got != "app-blue-web-1" {
		t.Errorf("web's aliases on the shared network = %s, want its container name only", got)
	}
	if got := strings.Join(spec.Networking.EndpointsConfig["app-blue_default"].Aliases, ","); got != "app-blue-web-1,web" {
		t.Errorf("web's aliases on its color's network = %s", got)
	}
	dbSpec, err := buildCreateSpec(parts.Shared, parts.Shared.Services["db"], 1, "", "1.41")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(dbSpec.Networking.EndpointsConfig["app-shared_default"].Aliases, ","); got != "app-db,db" {
		t.Errorf("db's aliases on the shared network = %s, want app-db,db", got)
	}
}

// TestSplitProjectPointsReferencesAtOtherParts holds that links,
// volumes_from and namespaces naming a service of another part name its
// container, and that the part still passes Check.
func TestSplitProjectPointsReferencesAtOtherParts(t *testing.T) {
	t.Parallel()
	parts := splitApp(t, `services:
  web:
    image: example/web:1
    links: ["db:database"]
    volumes_from: ["db:ro"]
    ipc: "service:db"
  db:
    image: example/db:1
    ipc: shareable
`, Declared{Traffic: "web", Shared: []string{"db"}})
	web := parts.Color.Services["web"]
	if len(web.Links) != 0 || strings.Join(web.ExternalLinks, ",") != "app-shared-db-1:database" {
		t.Errorf("links %v, external_links %v; want the link on the shared container", web.Links, web.ExternalLinks)
	}
	if strings.Join(web.VolumesFrom, ",") != "container:app-shared-db-1:ro" || web.Ipc != "container:app-shared-db-1" {
		t.Errorf("volumes_from %v, ipc %q; want the shared container", web.VolumesFrom, web.Ipc)
	}
	if err := Check(parts.Color); err != nil {
		t.Errorf("Check of the color: %v", err)
	}
}

func TestSplitProjectFixedNamesAndBuilds(t *testing.T) {
	t.Parallel()
	parts := splitApp(t, `services:
  web:
    image: example/web:1
    networks: [backend]
  db:
    build: .
    networks: [backend]
    volumes: [data:/data, keep:/keep]
networks:
  backend:
    name: app-backend
volumes:
  data:
  keep:
    name: fixed-keep
`, Declared{Traffic: "web", Shared: []string{"db"}})
	if n := parts.Color.Networks["backend"]; !bool(n.External) || n.Name != "app-backend" {
		t.Errorf("a fixed-name network the shared project owns must be external to the color: %+v", n)
	}
	if n := parts.Shared.Networks["backend"]; bool(n.External) {
		t.Errorf("the shared project must create its fixed-name network: %+v", n)
	}
	if got := parts.Shared.Volumes["keep"].Name; got != "fixed-keep" {
		t.Errorf("a volume with a fixed name became %q", got)
	}
	// The deploy tags builds with its deploy id before the split; a shared
	// service's build keeps docker compose's name instead, so that it is
	// built once, not at every deploy, and is not recreated for a new tag.
	p := loadNamed(t, "app-blue", "services:\n  web:\n    build: .\n  db:\n    build: .\n")
	TagBuilds(p, "d1")
	roles, _ := ClassifyServices(p, Declared{Traffic: "web", Shared: []string{"db"}})
	built, err := SplitProject(p, "app", roles)
	if err != nil {
		t.Fatal(err)
	}
	if got := built.Shared.Services["db"].Image; got != "app-shared-db" {
		t.Errorf("the shared build is named %s, want app-shared-db", got)
	}
	if got := built.Color.Services["web"].Image; got != "app-blue-web:d1" {
		t.Errorf("the colored build is named %s, want app-blue-web:d1", got)
	}
}

func TestWithoutJobs(t *testing.T) {
	t.Parallel()
	parts := splitApp(t, appYAML, Declared{Traffic: "web", Shared: []string{"cache"}})
	p := loadNamed(t, "app-blue", appYAML)
	roles, _ := ClassifyServices(p, Declared{Traffic: "web", Shared: []string{"cache"}})
	q, err := WithoutJobs(parts.Color, roles)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(q.ServiceNames(), ","); got != "web,worker" {
		t.Errorf("services %s, want web,worker", got)
	}
	if _, ok := q.Services["web"].DependsOn["migrate"]; ok {
		t.Error("web still waits for the job")
	}
	if _, ok := q.Services["web"].DependsOn["db"]; !ok || infoOf(q).Outside["db"] != "app-shared" {
		t.Error("web no longer waits for the shared db")
	}
	if _, ok := parts.Color.Services["migrate"]; !ok {
		t.Error("WithoutJobs changed the project it was given")
	}
}

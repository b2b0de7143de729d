package compose

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestJobsFirstRunsJobsAndWhatTheyNeedBeforeTheRest(t *testing.T) {
	p := loadNamed(t, "app-green", `
services:
  web:
    image: web
    depends_on:
      migrate: {condition: service_completed_successfully}
      cache: {condition: service_started}
  migrate:
    image: web
    depends_on:
      cache: {condition: service_healthy}
  cache:
    image: cache
  worker:
    image: web
`)
	p.Extensions = types.Extensions{splitKey: &splitInfo{Base: "app", Outside: map[string]string{"db": "app-shared"}, SharedNetworks: map[string]bool{}}}
	roles, _ := ClassifyServices(p, Declared{Traffic: "web"})
	jobs, rest, err := JobsFirst(p, roles)
	if err != nil {
		t.Fatal(err)
	}
	if got := jobs.ServiceNames(); len(got) != 2 || got[0] != "cache" || got[1] != "migrate" {
		t.Errorf("jobs part = %v, want cache and migrate", got)
	}
	if got := rest.ServiceNames(); len(got) != 2 || got[0] != "web" || got[1] != "worker" {
		t.Errorf("rest part = %v, want web and worker", got)
	}
	if _, waits := rest.Services["web"].DependsOn["migrate"]; waits {
		t.Error("rest still waits for the job, which ran before it")
	}
	if got := infoOf(rest).Outside["cache"]; got != "app-green" {
		t.Errorf("rest waits for cache in %q, want the color's own project", got)
	}
	if got := infoOf(rest).Outside["db"]; got != "app-shared" {
		t.Errorf("rest waits for db in %q, want the shared project", got)
	}
	if got := infoOf(p).Outside["cache"]; got != "" {
		t.Error("JobsFirst changed the project it was given")
	}
	if len(p.Services) != 4 {
		t.Error("JobsFirst removed services from the project it was given")
	}
}

func TestJobsFirstWithoutJobsIsTheProject(t *testing.T) {
	p := loadNamed(t, "app-blue", "services:\n  web:\n    image: web\n")
	roles, _ := ClassifyServices(p, Declared{Traffic: "web"})
	jobs, rest, err := JobsFirst(p, roles)
	if err != nil || jobs != nil || rest != p {
		t.Fatalf("JobsFirst = %v, %v, %v; want nil, the project, nil", jobs, rest, err)
	}
}

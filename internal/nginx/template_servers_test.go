package nginx

import (
	"errors"
	"strings"
	"testing"
)

func TestTemplateServers(t *testing.T) {
	t.Parallel()
	tmpl := MustParseTemplate(UpstreamTemplate("app"))
	d := TemplateData{Color: "green", Host: "127.0.0.1", Port: 8091, DeployID: "d1", Servers: []Server{
		{Host: "127.0.0.1", Port: 8091, ContainerName: "app-green-web-1"},
		{Host: "127.0.0.1", Port: 8092, ContainerName: "app-green-web-2"},
		{Host: "127.0.0.1", Port: 8093, ContainerName: "app-green-web-3"},
	}}
	out, err := tmpl.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"    server 127.0.0.1:8091;\n    server 127.0.0.1:8092;\n    server 127.0.0.1:8093;\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("include lacks %q:\n%s", want, out)
		}
	}
	// Without Servers, the one server the fields describe.
	single, err := tmpl.Render(TemplateData{Color: "green", Host: "127.0.0.1", Port: 8082, DeployID: "d1"})
	if err != nil || strings.Count(string(single), "server ") != 1 || !strings.Contains(string(single), "server 127.0.0.1:8082;") {
		t.Errorf("single server include = %q, %v", single, err)
	}
	urls := MustParseTemplate("{{range .Servers}}# {{.URL}} {{.ContainerName}}\n{{end}}set $service_url {{.URL}};\n")
	out, err = urls.Render(d)
	if err != nil || !strings.Contains(string(out), "# http://127.0.0.1:8093 app-green-web-3\n") {
		t.Errorf("URLs of servers = %q, %v", out, err)
	}
}

func TestTemplateServersErrors(t *testing.T) {
	t.Parallel()
	_, err := ParseTemplate("{{range .Servers}}server {{.Hots}};{{end}}\nset $service_url {{.URL}};\n")
	if !errors.Is(err, ErrInvalidTemplate) || !strings.Contains(err.Error(), "unknown field .Hots") || !strings.Contains(err.Error(), ".Servers (each with .Host") {
		t.Errorf("ParseTemplate with a misspelt server field = %v", err)
	}
	tmpl := MustParseTemplate(UpstreamTemplate("app"))
	_, err = tmpl.Render(TemplateData{Color: "blue", Host: "127.0.0.1", Port: 1, DeployID: "d", Servers: []Server{{Host: "127.0.0.1\n}", Port: 2}}})
	if !errors.Is(err, ErrInvalidTemplateData) || !strings.Contains(err.Error(), "Servers[0].Host") {
		t.Errorf("Render with a line break in a server = %v", err)
	}
}

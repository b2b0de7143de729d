//go:build e2e

package testenv

import (
	"io"
	"net/http"
	"testing"
)

func TestStartNginxAndAppImage(t *testing.T) {
	n := StartNginx(t, NginxOptions{Server: "    location / { return 200 \"hello\\n\"; }\n"})
	resp, err := http.Get(n.URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello\n" {
		t.Fatalf("got %q", body)
	}
	if img := AppImage(t); img == "" {
		t.Fatal("no image")
	}
}

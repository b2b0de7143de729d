package demosite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bluegreen-action/bluegreen/internal/nginx"
	"github.com/bluegreen-action/bluegreen/internal/throwaway"
)

// Shape is the app a site deploys: how many services its compose file
// has, and how many replicas of the traffic service run.
type Shape struct {
	// Services is the number of services (default 1): the traffic
	// service web, and Services-1 more of the same app that publish no
	// port and that nothing depends on, as an app's api, workers and
	// sidecars.
	Services int
	// Replicas is the traffic service's number of containers (default
	// 1). With more than one, each color publishes them on a range of
	// Replicas host ports and nginx balances over an upstream include.
	Replicas int
}

func (sh Shape) String() string {
	switch {
	case sh.Replicas > 1:
		return fmt.Sprintf("web with %d replicas", sh.Replicas)
	case sh.Services > 1:
		return fmt.Sprintf("%d services", sh.Services)
	}
	return "1 service"
}

// NewShaped is New for an app of the given shape.
func NewShaped(ctx context.Context, project string, sh Shape) (*Site, error) {
	if sh.Replicas <= 1 {
		s, err := New(ctx, project)
		if err != nil {
			return nil, err
		}
		if sh.Services > 1 {
			if err := s.writeFile("docker-compose.yml", composeFile(sh.Services, "${BLUEGREEN_PORT}:8080", 1)); err != nil {
				s.Close()
				return nil, err
			}
		}
		return s, nil
	}
	// Replicas: an upstream include in http context that nginx balances
	// over, and a port range per color.
	dir, err := os.MkdirTemp("", "bluegreen-demo-")
	if err != nil {
		return nil, err
	}
	upstream := filepath.Join(dir, "upstream.inc")
	if err := os.WriteFile(upstream, []byte("upstream app { server 127.0.0.1:1; }\n"), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s, err := newSite(ctx, project, throwaway.NginxOptions{
		HTTP: "    include " + upstream + ";\n",
		Server: `    location / {
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
`,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s.extraDir = dir
	if s.BluePort, err = throwaway.FreePorts(sh.Replicas); err != nil {
		s.Close()
		return nil, err
	}
	if s.GreenPort, err = throwaway.FreePorts(sh.Replicas); err != nil {
		s.Close()
		return nil, err
	}
	for c, lo := range map[string]int{"blue": s.BluePort, "green": s.GreenPort} {
		ports := fmt.Sprintf("127.0.0.1:%d-%d:8080", lo, lo+sh.Replicas-1)
		if err := s.writeFile(c+".yml", composeFile(sh.Services, ports, sh.Replicas)); err != nil {
			s.Close()
			return nil, err
		}
	}
	s.Inputs["blue-port"] = strconv.Itoa(s.BluePort)
	s.Inputs["green-port"] = strconv.Itoa(s.GreenPort)
	s.Inputs["blue-compose-file"] = "blue.yml"
	s.Inputs["green-compose-file"] = "green.yml"
	s.Inputs["nginx-include-path"] = upstream
	s.Inputs["nginx-include-template"] = nginx.UpstreamTemplate("app")
	return s, nil
}

// composeFile is the example app's project with services services, the
// traffic service web published on ports with replicas containers.
func composeFile(services int, ports string, replicas int) string {
	var b strings.Builder
	b.WriteString(strings.Replace(throwaway.ComposeFile, `"${BLUEGREEN_PORT}:8080"`, strconv.Quote(ports), 1))
	if replicas > 1 {
		fmt.Fprintf(&b, "    deploy:\n      replicas: %d\n", replicas)
	}
	for i := 2; i <= services; i++ {
		fmt.Fprintf(&b, `  svc%d:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION:-v1}
      READY_AFTER: ${READY_AFTER:-0s}
`, i)
	}
	return b.String()
}

func (s *Site) writeFile(name, content string) error {
	return os.WriteFile(filepath.Join(s.Dir, "work", name), []byte(content), 0o644)
}

package throwaway

import (
	"os"
	"strings"
)

// ComposeFile is the example app's project in a throw-away environment:
// one file for both colors, the color's host port through BLUEGREEN_PORT,
// the app image through APP_IMAGE and the app's behaviour through the
// environment of each deploy.
const ComposeFile = `services:
  web:
    image: ${APP_IMAGE}
    environment:
      VERSION: ${VERSION:-v1}
      READY_AFTER: ${READY_AFTER:-0s}
      LISTEN_AFTER: ${LISTEN_AFTER:-0s}
      HEALTH_STATUS: ${HEALTH_STATUS:-0}
      EXIT_AFTER: ${EXIT_AFTER:-0s}
      GRACEFUL: ${GRACEFUL:-0}
      HOSTILE: ${HOSTILE:-0}
      BLUEGREEN_COLOR: ${BLUEGREEN_COLOR}
    ports:
      - "${BLUEGREEN_PORT}:8080"
`

// Environ is the environment of one run of the action as the runner would
// set it: PATH (and DOCKER_HOST when set) from this process, every input
// as INPUT_<NAME> with hyphens kept (later maps win), then extra KEY=VALUE
// pairs for compose interpolation.
func Environ(base, inputs map[string]string, extra ...string) []string {
	environ := []string{"PATH=" + os.Getenv("PATH")}
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		environ = append(environ, "DOCKER_HOST="+h)
	}
	all := map[string]string{}
	for k, v := range base {
		all[k] = v
	}
	for k, v := range inputs {
		all[k] = v
	}
	for k, v := range all {
		environ = append(environ, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	return append(environ, extra...)
}

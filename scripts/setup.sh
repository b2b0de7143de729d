#!/usr/bin/env bash
# Installs and starts what the tests need on a fresh Debian machine:
# nginx (the tests run private instances on high ports), docker-compose v1
# (the conformance peer and the seed's tool), busybox-static (the job image
# for the act tests), apache2-utils (htpasswd for the private-registry test),
# openssh-server and iproute2 (the fleet test's simulated hosts run their
# own sshd in network namespaces; no sshd is started here), a running
# Docker daemon, and nektos/act, distribution's registry, actionlint,
# docker compose v2 (a CLI plugin, the second conformance peer) and gremlins
# (mutation testing, scripts/mutate.sh, which also needs jq) built from the
# Go module proxy (kept out of the product's go.mod).
set -euo pipefail

ACT_VERSION=v0.2.89
REGISTRY_VERSION=v3.1.2
ACTIONLINT_VERSION=v1.7.12
# docker compose v2.29.7: the release whose create behaviour internal/compose
# follows (its ComposeVersion label); it speaks to Docker 20.10 (Engine API
# 1.41), which later releases' features are not needed for.
COMPOSE_V2_VERSION=v2.29.7
GREMLINS_VERSION=v0.6.0

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v jq >/dev/null 2>&1 || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "setup: starting dockerd"
  (dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/dockerd.log" >&2; tail -20 /var/log/dockerd.log >&2; exit 1; }
fi

gobin="$(go env GOPATH)/bin"
if ! "$gobin/act" --version 2>/dev/null | grep -q "${ACT_VERSION#v}"; then
  echo "setup: building nektos/act $ACT_VERSION"
  GOFLAGS=-mod=mod go install "github.com/nektos/act@$ACT_VERSION"
fi
if ! "$gobin/registry" --version 2>/dev/null | grep -q "${REGISTRY_VERSION}"; then
  echo "setup: building distribution's registry $REGISTRY_VERSION"
  GOFLAGS=-mod=mod go install "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
fi
if ! "$gobin/actionlint" --version 2>/dev/null | grep -q "${ACTIONLINT_VERSION#v}"; then
  echo "setup: building actionlint $ACTIONLINT_VERSION"
  GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
compose_plugin="$HOME/.docker/cli-plugins/docker-compose"
if ! docker compose version 2>/dev/null | grep -q "${COMPOSE_V2_VERSION}"; then
  echo "setup: building docker compose $COMPOSE_V2_VERSION as a CLI plugin"
  compose_tmp="$(mktemp -d)"
  GOFLAGS=-mod=mod GOBIN="$compose_tmp" go install \
    -ldflags "-X github.com/docker/compose/v2/internal.Version=$COMPOSE_V2_VERSION" \
    "github.com/docker/compose/v2/cmd@$COMPOSE_V2_VERSION"
  mkdir -p "$(dirname "$compose_plugin")"
  install -m 0755 "$compose_tmp/cmd" "$compose_plugin"
  rm -rf "$compose_tmp"
fi
# gremlins says "version dev" when built with go install: ask the binary's
# build info instead.
if ! go version -m "$gobin/gremlins" 2>/dev/null | grep -q "mod.*github.com/go-gremlins/gremlins.*$GREMLINS_VERSION"; then
  echo "setup: building gremlins $GREMLINS_VERSION"
  GOFLAGS=-mod=mod go install "github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION"
fi
echo "setup: ready (nginx $(nginx -v 2>&1 | cut -d/ -f2), $(docker-compose version --short 2>/dev/null || echo no-compose), docker compose $(docker compose version --short 2>/dev/null || echo none), act $("$gobin/act" --version | awk '{print $3}'))"

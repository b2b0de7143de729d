# The action's image: one static binary on scratch, 15.7 MB (measured by
# `go run ./cmd/bench report`, which builds this file's final stage from a
# binary built as its build stage builds it).
#
# action.yml does not build this file on each run: release.yml builds it
# once per version tag, pushes ghcr.io/bluegreen-action/bluegreen:<tag> and
# moves the major tag (v1) that action.yml names.

# Build stage. It runs on the builder's own platform and cross-compiles, so
# a multi-platform build (linux/amd64 for the seed's EC2 host,
# linux/arm64 for Graviton runners) needs no emulation. CGO_ENABLED=0 gives
# a binary with no libc: it runs on scratch, and also after the helper
# chroots into the host's root, whatever libc (or none) the host has.
FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /bluegreen .

# Final stage: nothing but the binary. No shell, no CA certificates: the
# binary talks to the Docker daemon over its Unix socket and the daemon
# does the registry TLS; after the chroot the host's own files are used.
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.source="https://github.com/bluegreen-action/bluegreen" \
      org.opencontainers.image.description="Zero-downtime blue-green deploys of Docker Compose services behind nginx" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /bluegreen /bluegreen
# The image runs as root, and must:
# - GitHub's runner requires it of container actions: it mounts the
#   workspace and the file-command files (outputs, job summary) owned by
#   the runner's user and expects the action to write them; a USER other
#   than root is documented as unsupported for Docker actions.
# - the Docker socket the runner mounts is root's (or the docker group's);
# - the helper container started from this same image chroots into the
#   host's root (CAP_SYS_CHROOT), signals the host's nginx and writes its
#   include, as the seed's `sudo ./deploy.sh` did.
USER 0:0
ENTRYPOINT ["/bluegreen"]

# The action's image: one static binary on scratch.
#
# Build stage: CGO_ENABLED=0 gives a binary with no libc, so it runs on
# scratch and, after the launcher chroots into the host's root, on any host.
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /bluegreen .

# Final stage: nothing but the binary. No CA certificates are needed: the
# binary talks to the Docker daemon over its Unix socket, and the daemon
# does the registry TLS.
FROM scratch
COPY --from=build /bluegreen /bluegreen
# The image runs as root, as GitHub's runner requires of container actions
# (it mounts the workspace and file-command files owned by the runner user
# and expects the action to write them), and because the deploy needs the
# Docker socket and, through the host helper, the host's nginx.
USER 0:0
ENTRYPOINT ["/bluegreen"]

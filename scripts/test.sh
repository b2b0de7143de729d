#!/usr/bin/env bash
# Runs every test: vet, unit tests, and the end-to-end tests against the
# real Docker daemon, real nginx and nektos/act. Set CI=true to make tests
# that need Docker or nginx fail instead of skipping when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"
go vet ./...
go test -count=1 -timeout 45m "$@" ./...

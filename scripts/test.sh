#!/usr/bin/env bash
# Runs both tiers of tests; extra arguments go to both go test runs.
#
#   fast tier:  go test ./...            unit tests only: no Docker, nginx or
#                                        act, seconds on a laptop
#   e2e tier:   go test -tags e2e ./...  adds the tests behind the e2e build
#                                        tag, against the real Docker daemon,
#                                        a real nginx and nektos/act
#
# Set CI=true to make e2e tests that need Docker or nginx fail instead of
# skipping when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"
go vet ./...
go vet -tags e2e ./...
go test -count=1 -timeout 45m "$@" ./...
go test -count=1 -timeout 45m -tags e2e "$@" ./...

#!/usr/bin/env bash
# Mutation testing of the fast tier: gremlins changes one operator at a time
# in a package's code (a < becomes <=, a == becomes !=, a + becomes -, ...),
# runs that package's unit tests (go test, no build tags: the fast tier),
# and counts the mutants they kill. Efficacy is killed / (killed + lived):
# the share of covered changes the tests notice. Coverage says a line ran;
# this says a test would fail if the line were wrong.
#
#   bash scripts/mutate.sh                         # every package below
#   bash scripts/mutate.sh internal/lock internal/ledger
#
# Prints a table per package, then every mutant that lived, marking those
# scripts/equivalent-mutants.md lists (equivalent ones, which change
# nothing a test could observe, and timing-only ones): they are counted
# apart, in the "listed" column and the last one.
#
# Settings (environment):
#   MUTATE_WORKERS   mutants tested at once (default 1: each one compiles and
#                    runs a package's tests, and the machine may be shared)
#   MUTATE_TIMEOUT   gremlins' timeout coefficient: a mutant whose tests run
#                    longer than this many times the unmutated run is "timed
#                    out", counted neither killed nor lived (default 10)
#   MUTATE_OUT       directory for gremlins' JSON and logs (default a temp dir)
#   MUTATE_REUSE     1: tabulate the JSON a run left in MUTATE_OUT again (after
#                    equivalent-mutants.md changed) instead of running gremlins
#   MUTATE_PARALLEL  go test's -parallel for each mutant's tests (default 8,
#                    passed through GOFLAGS): the deploy's and nginx's tests
#                    mostly wait on fake servers, nginx and timers, not on
#                    the CPU, so more of them at once than the machine's
#                    cores shortens each run (go test's default is one per
#                    core)
#
# gremlins is installed by scripts/setup.sh (go install, kept out of go.mod).
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything runs from main, read whole before it starts: bash reads a
# script as it goes, and a run takes long enough for the file to change.
main() {

gremlins="$(go env GOPATH)/bin/gremlins"
if [ ! -x "$gremlins" ]; then
  echo "mutate: gremlins is not installed: run scripts/setup.sh (or GOFLAGS=-mod=mod go install github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0)" >&2
  exit 2
fi
command -v jq >/dev/null 2>&1 || { echo "mutate: jq is missing: run scripts/setup.sh (or apt-get install jq)" >&2; exit 2; }

workers="${MUTATE_WORKERS:-1}"
coefficient="${MUTATE_TIMEOUT:-10}"
out="${MUTATE_OUT:-$(mktemp -d -t mutate.XXXXXX)}"
mkdir -p "$out"
# gremlins runs `go test` with no room for test flags; go test reads them
# from GOFLAGS too. -vet=off: a mutant counts as killed when a test fails,
# not when go vet objects to it (and vet costs each mutant a type-check).
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-parallel=${MUTATE_PARALLEL:-8} -vet=off"

if [ $# -gt 0 ]; then
  pkgs=("$@")
else
  pkgs=(internal/deploy internal/fleet internal/nginx internal/lock internal/ledger internal/health internal/config)
fi

# The mutants listed in equivalent-mutants.md: "path:line:col MUTATOR",
# one a line.
equivalent="$out/equivalent.txt"
grep -oE '`internal/[^`]+:[0-9]+:[0-9]+ [A-Z_]+`' scripts/equivalent-mutants.md 2>/dev/null | tr -d '`' | sort -u >"$equivalent" || true

rows=()
lived_lines=()
for pkg in "${pkgs[@]}"; do
  pkg="${pkg#./}"
  pkg="${pkg%/}"
  if [ ! -d "$pkg" ]; then
    echo "mutate: $pkg is not a package directory of this module" >&2
    exit 2
  fi
  name="${pkg//\//_}"
  if [ "${MUTATE_REUSE:-}" = 1 ] && [ -f "$out/$name.json" ] && [ -f "$out/$name.secs" ]; then
    echo "mutate: $pkg: tabulating $out/$name.json again (MUTATE_REUSE)" >&2
  else
    echo "mutate: $pkg ($workers worker(s), timeout coefficient $coefficient, GOFLAGS=$GOFLAGS; log in $out/$name.log)" >&2
    start=$(date +%s)
    # Test-support packages below the package (deploytest) are not mutated:
    # they are doubles, not the code under test.
    if ! "$gremlins" unleash --workers "$workers" --timeout-coefficient "$coefficient" \
        --exclude-files '(^|/)[a-z]*test/' --output "$out/$name.json" "$pkg" >"$out/$name.log" 2>&1; then
      echo "mutate: gremlins failed on $pkg; the end of its log:" >&2
      tail -20 "$out/$name.log" >&2
      exit 1
    fi
    echo $(($(date +%s) - start)) >"$out/$name.secs"
  fi
  secs=$(cat "$out/$name.secs")
  json="$out/$name.json"
  # Each mutant as "path:line:col TYPE STATUS".
  jq -r --arg pkg "$pkg" '.files[] | .file_name as $f | .mutations[] | "\($pkg)/\($f):\(.line):\(.column) \(.type) \(.status)"' "$json" | sort >"$out/$name.mutants"
  count() { grep -c " $1\$" "$out/$name.mutants" || true; }
  killed=$(count KILLED)
  lived=$(count LIVED)
  timed=$(count TIMED\ OUT)
  notviable=$(count NOT\ VIABLE)
  notcovered=$(count NOT\ COVERED)
  equiv=0
  while read -r loc type status; do
    [ "$status" = LIVED ] || continue
    if grep -qxF "$loc $type" "$equivalent"; then
      equiv=$((equiv + 1))
      lived_lines+=("$loc $type (listed in equivalent-mutants.md)")
    else
      lived_lines+=("$loc $type")
    fi
  done <"$out/$name.mutants"
  efficacy=$(awk -v k="$killed" -v l="$lived" 'BEGIN { if (k + l == 0) print "-"; else printf "%.1f %%", 100 * k / (k + l) }')
  real=$(awk -v k="$killed" -v l="$lived" -v e="$equiv" 'BEGIN { if (k + l - e == 0) print "-"; else printf "%.1f %%", 100 * k / (k + l - e) }')
  rows+=("$(printf '%-16s %6s %6s %5s %5s %6s %7s %6s %9s %17s' "$pkg" "${secs}s" "$killed" "$lived" "$timed" "$notviable" "$notcovered" "$equiv" "$efficacy" "$real")")
done

echo
printf '%-16s %6s %6s %5s %5s %6s %7s %6s %9s %17s\n' package time killed lived timed unviab uncover listed efficacy "w/o listed"
for r in "${rows[@]}"; do echo "$r"; done
if [ ${#lived_lines[@]} -gt 0 ]; then
  echo
  echo "lived:"
  for l in "${lived_lines[@]}"; do echo "  $l"; done
fi
echo
echo "(gremlins' JSON and logs: $out)"
}

main "$@"
exit

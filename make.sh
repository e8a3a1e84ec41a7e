#!/usr/bin/env bash
# XDPFire's two commands (see README.md):
#   ./make.sh build [options]     build the ISO
#   ./make.sh test  [layer...]    run the test suite (all layers, or e.g. "unit bpf")
# and, for QA by hand:
#   ./make.sh lab [ISO] [--uefi] [--disk FILE]   boot the ISO in the QEMU network lab
# Both first install what is missing: host packages with apt-get (as root)
# and the npm dependencies with npm ci.
set -euo pipefail
cd "$(dirname "$0")"

need_npm_ci() {
  [ -d node_modules ] || return 0
  [ node_modules/.package-lock.json -nt package-lock.json ] || return 0
  return 1
}

setup() {
  local groups=$1
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "make.sh: node and npm are needed (Node 20.19 or newer)" >&2
    exit 2
  fi
  if need_npm_ci; then
    echo "make.sh: installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  node --import tsx build/cli.ts doctor --for "$groups"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  build)
    setup build
    exec node --import tsx build/cli.ts build "$@"
    ;;
  test)
    setup build,test
    mkdir -p test-artifacts
    report=test-artifacts/vitest-report.json
    rm -f "$report"
    projects=()
    for layer in "$@"; do projects+=(--project "$layer"); done
    # The qa layer's ISO is built in the background (niced, so the other
    # layers' timing is not starved) while the layers that need no ISO run;
    # the qa tests wait for its build lock and take it from the cache.
    prebuild=
    if [ $# -eq 0 ] || [[ " $* " == *" qa "* ]]; then
      mkdir -p test-artifacts/qa
      nice -n 10 node --import tsx test/qa/prebuild.ts >test-artifacts/qa/prebuild.log 2>&1 &
      prebuild=$!
      trap '[ -n "$prebuild" ] && kill "$prebuild" 2>/dev/null' EXIT
      echo "make.sh: building the qa ISO in the background (pid $prebuild, log test-artifacts/qa/prebuild.log)"
    fi
    set +e
    npx vitest run "${projects[@]}" --reporter=default --reporter=json --outputFile.json="$report"
    rc=$?
    if [ -n "$prebuild" ]; then
      wait "$prebuild" || echo "make.sh: the background qa ISO build failed; see test-artifacts/qa/prebuild.log"
      prebuild=
    fi
    set -e
    node --import tsx test/summary.ts "$report" || rc=1
    exit $rc
    ;;
  lab)
    setup build,test
    exec node --import tsx build/qemu/lab.ts "$@"
    ;;
  *)
    echo "usage: ./make.sh build [options] | ./make.sh test [unit|bpf|netns|web|qa ...] | ./make.sh lab [ISO] [--uefi] [--disk FILE]" >&2
    echo "       build options: npx tsx build/cli.ts --help" >&2
    exit 2
    ;;
esac

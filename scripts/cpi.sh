#!/usr/bin/env bash
# Entry point behind `npm start` and `npm test`: installs what is missing, then runs.
#
#   scripts/cpi.sh start   local Kafka broker + the all-in-one process (Ctrl-C stops both)
#   scripts/cpi.sh test    lint, type check, boundaries, unit and integration tests
#   scripts/cpi.sh simulate [options]   simulated event streams with ground truth (--help)
#   scripts/cpi.sh import FILE [options]  a historical import (NDJSON or CSV) through the gateway, with progress
#   scripts/cpi.sh audit   dependency audit of the production dependencies (CI runs it after the tests)
#   scripts/cpi.sh recompute --cpi NAME --from T --to T [--catalog FILE] [--include-late]   re-derive a CPI after a definition change, or bring in events beyond the horizon
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/bootstrap.sh
source "$root/scripts/bootstrap.sh"
cd "$root"

cmd=${1:-}
shift || true

case "$cmd" in
  start)
    bootstrap
    started_broker=no
    if [[ -z "${KAFKA_BROKERS:-}" ]]; then
      bash infra/kafka/kafka.sh status >/dev/null 2>&1 || started_broker=yes
      bash infra/kafka/kafka.sh start
    fi
    stop_broker() { [[ $started_broker == yes ]] && bash infra/kafka/kafka.sh stop || true; }
    trap stop_broker EXIT
    trap 'exit 130' INT TERM
    node services/all-in-one/src/main.ts "$@"
    ;;
  test)
    bootstrap
    ensure_chromium
    echo "== node $(node --version), pnpm $(pnpm --version)"
    echo "== lint (biome)"
    pnpm run -s lint
    echo "== type check (tsc)"
    pnpm run -s typecheck
    echo "== dependency boundaries"
    pnpm run -s check:boundaries
    echo "== JSON Schema export matches the zod source"
    node schemas/scripts/export-json-schema.ts --check
    echo "== unit and integration tests (vitest)"
    mkdir -p test-results
    status=0
    pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || status=$?
    # One plain closing line any CI can read: "vitest: N passed, N failed, N skipped".
    node -e '
      const r = JSON.parse(require("node:fs").readFileSync("test-results/vitest.json", "utf8"));
      const skipped = r.numPendingTests + r.numTodoTests;
      console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
    ' 2>/dev/null || echo "vitest: no results file (the run did not get as far as the tests)"
    exit "$status"
    ;;
  audit)
    bootstrap
    # Production dependencies with a high or critical advisory fail the run. A registry that
    # cannot answer audits (this machine's answers 405) is reported, not a failure.
    echo "== dependency audit (pnpm audit --prod --audit-level high)"
    set +e
    out=$(pnpm audit --prod --audit-level high --ignore-registry-errors 2>&1)
    status=$?
    set -e
    printf '%s\n' "$out"
    # Could not ask at all (network, TLS, an endpoint that refuses): said, not a finding.
    if [[ $status -ne 0 ]] && grep -qE 'FetchError|ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|certificate|responded with' <<<"$out"; then
      echo "== dependency audit: the registry could not be asked (see above); no advisory was checked"
      status=0
    fi
    exit "$status"
    ;;
  bench-ingest)
    bootstrap
    exec node bench/ingest-gateway.ts "$@"
    ;;
  bench-api)
    bootstrap
    exec node bench/api-latency.ts "$@"
    ;;
  bench)
    bootstrap
    exec node bench/pipeline.ts "$@"
    ;;
  recompute)
    bootstrap >&2
    exec node services/processor/src/recompute-cli.ts "$@"
    ;;
  simulate)
    bootstrap >&2
    exec node services/simulator/src/cli.ts "$@"
    ;;
  import)
    bootstrap >&2
    exec node services/ingest/src/import-cli.ts "$@"
    ;;
  openslo)
    bootstrap >&2
    exec node packages/cpi-core/bin/openslo.ts "$@"
    ;;
  *)
    echo "usage: scripts/cpi.sh start|test|audit|simulate|import|openslo|recompute|bench|bench-ingest|bench-api" >&2
    exit 2
    ;;
esac

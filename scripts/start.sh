#!/usr/bin/env bash
# `npm start`: build the site (offline) and serve it at http://127.0.0.1:3000/
# (set PORT to change). For live editing use `npm run dev` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ ! -x node_modules/.bin/observable ]; then
  if [ -f package-lock.json ]; then npm ci; else npm install; fi
fi
npm run build
exec npx tsx scripts/serve-built.ts --dir dist --host 127.0.0.1 --port "${PORT:-3000}"

#!/usr/bin/env bash
# Everything `npm test` runs, from a fresh clone on Debian/Ubuntu (as root, or with
# sudo available) or any machine that already has Node 20+ and Chromium:
#   1. installs what is missing: Debian's chromium (it ships SwiftShader, the CPU
#      Vulkan driver that gives WebGPU an adapter on machines without a GPU) and
#      libvulkan1, then the npm dependencies;
#   2. type-checks (npm run check, plus the site's own components);
#   3. runs the unit tests (node + Dawn/WebGPU on SwiftShader);
#   4. builds the site (offline) and runs the end-to-end tests in Chromium.
# Exits non-zero on the first failure; prints each stage's time and a summary.
set -euo pipefail
cd "$(dirname "$0")/.."

t_start=$SECONDS
stage() { printf '\n\033[1m== %s\033[0m\n' "$*"; stage_start=$SECONDS; }
done_stage() { printf '   (%ss)\n' "$((SECONDS - stage_start))"; }
summary=()

# ---- 1. system and npm dependencies -------------------------------------------------
stage "dependencies"
need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
has_vulkan() {
  { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null; } | grep -q 'libvulkan\.so\.1' && return 0
  ls /usr/lib/*/libvulkan.so.1 /usr/lib/libvulkan.so.1 >/dev/null 2>&1
}
has_vulkan || need_apt+=(libvulkan1)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} (Debian packages)"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
      echo "error: ${need_apt[*]} missing and not root; install them with: apt-get install -y ${need_apt[*]}" >&2; exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${need_apt[@]}"
fi
if [ ! -d node_modules ] || [ ! -x node_modules/.bin/observable ]; then
  if [ -f package-lock.json ]; then npm ci; else npm install; fi
fi
node -e 'const [a]=process.versions.node.split(".").map(Number); if (a < 20) { console.error(`Node ${process.versions.node} is too old: R1 Lab needs Node 20+`); process.exit(1); }'
done_stage

# ---- 2. types --------------------------------------------------------------------
stage "type check"
npm run check
npx tsc --noEmit -p docs/tsconfig.json
summary+=("type check: ok")
done_stage

# ---- 3. unit tests -----------------------------------------------------------------
stage "unit tests"
npm run test:unit
summary+=("unit tests: ok")
done_stage

# ---- 4. site build + end-to-end tests ----------------------------------------------------
stage "site build and end-to-end tests"
npm run test:e2e
summary+=("build + end-to-end tests: ok")
done_stage

printf '\n\033[1m== summary\033[0m\n'
printf '   %s\n' "${summary[@]}"
printf '   total %ss\n' "$((SECONDS - t_start))"

#!/usr/bin/env bash
# Builds .device-kit/ (git-ignored): everything a bare x86-64 machine with a GPU and
# no network needs to run bench/device-check.sh, which unpacks it there.
#
#   bash scripts/device-kit.sh
#
# What goes in (well under 45 MiB; the run tool carries at most 64 MiB with the tree):
#   node.xz                     this machine's node binary, xz-compressed
#   webgpu/index.js, package.json, dawn.node.xz
#                               the `webgpu` package (Dawn), Linux x64 binary only
#   libstdc++.so.6.xz           this machine's libstdc++, used there only when the
#                               system's lacks GLIBCXX_3.4.30 (dawn.node needs it)
#   debs/*.deb                  the Vulkan loader and GL dispatch libraries (amd64),
#                               unpacked there only where a library is missing
#   device-check.mjs, matmul-variants.mjs
#                               bench/device-check.ts and bench/matmul-variants.ts
#                               bundled by esbuild, `webgpu` left external
#   MANIFEST                    versions, commit, sizes, sha256 of every file
#
# Needs: x86-64 Linux, node ≥ 20, npm install done (esbuild), xz, apt-get (for the
# .debs: set DEVICE_KIT_ALLOW_NO_DEBS=1 to build without them, for a device that
# already has libvulkan1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KIT=.device-kit
TMP=$KIT.building
DEBS=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
MAX_MIB=45

die() { echo "device-kit: $*" >&2; exit 1; }
step() { echo "device-kit: $*"; }

[ "$(uname -m)" = x86_64 ] || die "this machine is $(uname -m); the device is x86-64, so its node and dawn.node must come from an x86-64 machine"
NODE=$(command -v node) || die "node is not on PATH"
NODE=$(readlink -f "$NODE")
NODE_VERSION=$("$NODE" --version)
[ "${NODE_VERSION#v}" != "$NODE_VERSION" ] && [ "$(echo "${NODE_VERSION#v}" | cut -d. -f1)" -ge 20 ] || die "node $NODE_VERSION is too old (need ≥ 20)"
command -v xz >/dev/null || die "xz is missing (apt-get install xz-utils)"
ESBUILD=node_modules/.bin/esbuild
[ -x "$ESBUILD" ] || die "$ESBUILD is missing: run npm install first"
WEBGPU=node_modules/webgpu
DAWN=$WEBGPU/dist/linux-x64/dawn.node
[ -f "$DAWN" ] || die "$DAWN is missing: run npm install first"

rm -rf "$TMP"
mkdir -p "$TMP/webgpu" "$TMP/debs"

# Compressing node takes about a minute: reuse the last kit's node.xz when the binary is the same.
sha() { sha256sum "$1" | cut -d' ' -f1; }
xzcache() { # source, destination in $TMP
  local src=$1 name=$2 sum
  sum=$(sha "$src")
  if [ -f "$KIT/$name" ] && [ -f "$KIT/$name.source-sha256" ] && [ "$(cat "$KIT/$name.source-sha256")" = "$sum" ]; then
    cp "$KIT/$name" "$TMP/$name"
    step "$name: unchanged source, reused"
  else
    step "$name: compressing $src ($(du -h "$src" | cut -f1))…"
    xz -6 -T2 -c "$src" >"$TMP/$name"
  fi
  echo "$sum" >"$TMP/$name.source-sha256"
}

# 1. kernels, then the bundles
step "npm run gen"
node scripts/gen-kernels.mjs >/dev/null
for entry in device-check matmul-variants; do
  step "bundling bench/$entry.ts"
  # ESM bundle; the banner gives CommonJS dependencies a require(); `webgpu` resolves
  # at run time to the kit's copy (node_modules/webgpu beside the bundle, set up by device-check.sh)
  "$ESBUILD" "bench/$entry.ts" --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --log-level=error --outfile="$TMP/$entry.mjs" \
    --banner:js="import { createRequire as __kitCreateRequire } from 'node:module'; const require = __kitCreateRequire(import.meta.url);"
done

# 2. node and the webgpu package
xzcache "$NODE" node.xz
cp "$WEBGPU/index.js" "$WEBGPU/package.json" "$TMP/webgpu/"
xzcache "$DAWN" webgpu/dawn.node.xz
LIBSTDCXX=$(ldconfig -p | awk '$1 == "libstdc++.so.6" && /x86-64/ { print $NF; exit }')
[ -n "$LIBSTDCXX" ] || die "no libstdc++.so.6 found with ldconfig"
xzcache "$(readlink -f "$LIBSTDCXX")" libstdc++.so.6.xz

# 3. the Vulkan loader and GL dispatch libraries, as the device README describes
step "apt-get download ${DEBS[*]}"
LISTS=$(mktemp -d /tmp/device-kit-apt.XXXXXX)
mkdir -p "$LISTS/partial"
# private package lists and no binary cache, so the system's apt state is left alone
APT=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$LISTS" -oDebug::NoLocking=1
  -oDir::Cache::pkgcache= -oDir::Cache::srcpkgcache=)
debs_ok=1
if ! apt-get "${APT[@]}" update >"$LISTS/update.log" 2>&1; then
  debs_ok=0
  echo "device-kit: apt-get update failed:" >&2; tail -5 "$LISTS/update.log" >&2
elif ! (cd "$TMP/debs" && apt-get "${APT[@]}" download "${DEBS[@]}") >"$LISTS/download.log" 2>&1; then
  debs_ok=0
  echo "device-kit: apt-get download failed:" >&2; tail -5 "$LISTS/download.log" >&2
fi
rm -rf "$LISTS"
if [ "$debs_ok" = 0 ] || [ "$(ls "$TMP/debs"/*.deb 2>/dev/null | wc -l)" -ne "${#DEBS[@]}" ]; then
  if [ "${DEVICE_KIT_ALLOW_NO_DEBS:-0}" = 1 ]; then
    echo "device-kit: WARNING: could not download the Vulkan loader .debs (${DEBS[*]}); building the kit without them" >&2
    echo "device-kit: WARNING: the device then needs libvulkan1 of its own, which a bare machine probably lacks" >&2
    rm -f "$TMP/debs"/*.deb
  else
    rm -rf "$TMP"
    die "could not download the Vulkan loader .debs (${DEBS[*]}) with apt-get (no network, or no amd64 package lists?).
  Without them a bare device has no libvulkan.so.1 and Dawn finds no adapter.
  Fix apt here, or set DEVICE_KIT_ALLOW_NO_DEBS=1 to build a kit without them."
  fi
fi

# 4. manifest, then swap the new kit in
COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
DIRTY=$(GIT_OPTIONAL_LOCKS=0 git status --porcelain 2>/dev/null | wc -l)
{
  echo "r1-lab device kit"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm)"
  echo "commit: $COMMIT ($DIRTY changed or untracked paths in the tree)"
  echo "node: $NODE_VERSION ($NODE)"
  echo "webgpu: $(node -p "require('./$WEBGPU/package.json').version")"
  echo "libstdc++: $(readlink -f "$LIBSTDCXX")"
  echo "debs: $(cd "$TMP/debs" && ls *.deb 2>/dev/null | tr '\n' ' ')"
  echo "files (sha256, bytes, path):"
  (cd "$TMP" && find . -type f ! -name MANIFEST ! -name '*.source-sha256' | sort | while read -r f; do
    echo "  $(sha "$f") $(stat -c %s "$f") ${f#./}"
  done)
} >"$TMP/MANIFEST"
rm -rf "$KIT"
mv "$TMP" "$KIT"
grep -qxF '.device-kit/' .gitignore || echo "device-kit: NOTE: .device-kit/ is not in .gitignore" >&2

BYTES=$(du -sb "$KIT" | cut -f1)
echo
(cd "$KIT" && find . -type f ! -name '*.source-sha256' -printf '%s\t%P\n' | sort -rn | awk -F'\t' '{ printf "  %8.2f MiB  %s\n", $1 / 1048576, $2 }')
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "device-kit: $KIT is $(mib "$BYTES") MiB"
[ "$BYTES" -le $((MAX_MIB * 1048576)) ] || die "the kit is over $MAX_MIB MiB"
# what the run tool would carry: tracked + untracked-not-ignored files, plus the kit
TREE=$( (git ls-files -z --cached --others --exclude-standard 2>/dev/null || true) | xargs -0 -r stat -c %s 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
echo "device-kit: with the working tree ($(mib "$TREE") MiB) a run carries about $(mib $((TREE + BYTES))) MiB of the 64 allowed"
echo "device-kit: next: run tool with carry [\".device-kit\"] and command \"bash bench/device-check.sh\" (bench/RESULTS.md, \"Measuring on a real GPU\")"

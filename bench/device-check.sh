#!/usr/bin/env bash
# Runs bench/device-check.ts on a machine with a GPU and no network, from the kit that
# scripts/device-kit.sh built here (.device-kit/, carried by the run tool):
#
#   bash bench/device-check.sh [device-check flags]      (from the repository root)
#
# With no flags it runs `--require-gpu`: adapter, matmul kernels, the full `default`
# pretraining preset. Any flags replace that (e.g. `--steps 20 --mm-sizes 128,256`).
#
# It unpacks node, Dawn and the bundles into /tmp/r1-device-kit, unpacks the Vulkan
# loader .debs into / (as the device README says) only when one of their libraries is
# missing, points Vulkan at the NVIDIA driver when its ICD file exists, and writes to
# $OUT (./device-out when OUT is unset):
#   device-check.json            everything measured (bench/device-check.ts)
#   device-check.log             this script's whole output
#   environment.txt              OS, GPU, Vulkan loader and driver files, variables
#   vulkan-loader.log            only when no GPU adapter was found: the loader's debug output
#   pretrain-default/            summary.json, metrics.jsonl, config.json, model.safetensors
#
# Time guard: node gets DEVICE_CHECK_LIMIT_S seconds (default 390), then SIGTERM; it
# then writes the JSON with what it has. Keep the run call's timeout_s above it.
#
# Exit status: that of device-check (0 ok, 1 a stage failed, 3 no GPU adapter,
# 124 cut short by the time guard), or 4 when the kit is missing or broken.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 4
ROOT=$PWD
KIT=$ROOT/.device-kit
OUT_DIR=${OUT:-$ROOT/device-out}
LIMIT_S=${DEVICE_CHECK_LIMIT_S:-390}
W=/tmp/r1-device-kit
RUN_DIR=runs/device-check-pretrain-default
mkdir -p "$OUT_DIR" || exit 4
exec > >(tee "$OUT_DIR/device-check.log") 2>&1
TEE_PID=$!

say() { echo "device-check.sh: $*"; }
# close the log pipe and let tee finish, so the last lines reach the log and the run tool
end() { exec >&- 2>&-; wait "$TEE_PID" 2>/dev/null; exit "$1"; }
fail() { say "ERROR: $*"; end 4; }
T0=$(date +%s)

if [ ! -f "$KIT/MANIFEST" ] || [ ! -f "$KIT/device-check.mjs" ] || [ ! -f "$KIT/node.xz" ]; then
  fail "the device kit is missing ($KIT/MANIFEST, node.xz, device-check.mjs).
  Build it on the development machine with:   bash scripts/device-kit.sh
  and name it in the run call:                carry [\".device-kit\"], command \"bash bench/device-check.sh\"
  (bench/RESULTS.md, \"Measuring on a real GPU\")."
fi
say "kit: $(sed -n 2,4p "$KIT/MANIFEST" | tr '\n' ';')"

# --- unpack -------------------------------------------------------------------------
unxz_to() { # file.xz destination
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2"
  elif command -v python3 >/dev/null 2>&1; then python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  else fail "neither xz nor python3 is here to unpack $1"; fi
}
rm -rf "$W"
mkdir -p "$W/bin" "$W/lib" "$W/node_modules/webgpu/dist/linux-x64" || fail "cannot create $W"
unxz_to "$KIT/node.xz" "$W/bin/node" || fail "could not unpack node"
chmod +x "$W/bin/node"
unxz_to "$KIT/webgpu/dawn.node.xz" "$W/node_modules/webgpu/dist/linux-x64/dawn.node" || fail "could not unpack dawn.node"
cp "$KIT/webgpu/index.js" "$KIT/webgpu/package.json" "$W/node_modules/webgpu/" || fail "could not copy the webgpu package"
cp "$KIT"/*.mjs "$W/" || fail "could not copy the bundles"

# dawn.node needs GLIBCXX_3.4.30 (GCC 12's libstdc++); bring the kit's where the system's is older
SYS_STDCXX=$(ldconfig -p 2>/dev/null | awk '$1 == "libstdc++.so.6" && /x86-64/ { print $NF; exit }')
if [ -z "$SYS_STDCXX" ] || ! grep -qa GLIBCXX_3.4.30 "$(readlink -f "$SYS_STDCXX")"; then
  say "system libstdc++ (${SYS_STDCXX:-none}) lacks GLIBCXX_3.4.30: using the kit's"
  unxz_to "$KIT/libstdc++.so.6.xz" "$W/lib/libstdc++.so.6" || fail "could not unpack libstdc++"
  export LD_LIBRARY_PATH=$W/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi

# The Vulkan loader and GL dispatch libraries: unpack a .deb into / only when one of the
# libraries it holds is unknown to ldconfig (DEVICE_CHECK_FORCE_DEBS=1: unpack them all).
if ls "$KIT"/debs/*.deb >/dev/null 2>&1; then
  if ! command -v dpkg >/dev/null 2>&1; then
    say "WARNING: no dpkg here: cannot unpack the kit's Vulkan loader .debs"
  else
    KNOWN=$(ldconfig -p 2>/dev/null | awk '{ print $1 }')
    unpacked=0
    for deb in "$KIT"/debs/*.deb; do
      libs=$(dpkg-deb -c "$deb" | grep -oE 'lib[A-Za-z0-9_+-]+\.so\.[0-9]+ ' | tr -d ' ' | sort -u)
      missing=$(for l in $libs; do grep -qxF "$l" <<<"$KNOWN" || echo "$l"; done)
      if [ -n "$missing" ] || [ "${DEVICE_CHECK_FORCE_DEBS:-0}" = 1 ]; then
        say "unpacking $(basename "$deb") into / (missing: $(echo $missing))"
        dpkg -x "$deb" / || fail "dpkg -x $deb / failed"
        unpacked=1
      fi
    done
    if [ "$unpacked" = 1 ]; then ldconfig; else say "Vulkan loader and GL libraries already present: nothing unpacked"; fi
  fi
else
  say "WARNING: the kit has no Vulkan loader .debs"
fi
ldconfig -p | grep -q 'libvulkan\.so\.1 ' || say "WARNING: ldconfig knows no libvulkan.so.1: Dawn will find no adapter"

# The NVIDIA Vulkan driver (the device README's path first). VK_ICD_FILENAMES is set
# too: older loaders read only that, and src/gpu/device.ts leaves it alone when set.
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
             /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd; break; fi
  done
fi
[ -n "${VK_DRIVER_FILES:-}" ] && say "VK_DRIVER_FILES=$VK_DRIVER_FILES" || say "no NVIDIA Vulkan ICD file found: Vulkan's default search applies"
# the ICD names its library (libGLX_nvidia.so.0) without a path
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/nvidia/lib64

# --- what is here (for reading a failure without another run) ----------------------
{
  echo "== date";  date -u
  echo "== uname"; uname -a
  echo "== os";    cat /etc/os-release 2>/dev/null | head -4
  echo "== nvidia-smi"; nvidia-smi -L 2>&1 | head -4; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 | head -3
  echo "== variables"; env | grep -E '^(VK_|LD_LIBRARY_PATH|NVIDIA_|__EGL|XDG_)' | sort
  echo "== ldconfig (vulkan, GL dispatch, nvidia)"; ldconfig -p | grep -E 'libvulkan|GLdispatch|libGLX|nvidia' | head -30
  echo "== ICD files"; ls -l /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1
  [ -n "${VK_DRIVER_FILES:-}" ] && { echo "== $VK_DRIVER_FILES"; cat "$VK_DRIVER_FILES"; }
  echo "== kit"; cat "$KIT/MANIFEST"
  echo "== node"; "$W/bin/node" --version 2>&1
} >"$OUT_DIR/environment.txt" 2>&1
NODE_V=$("$W/bin/node" --version 2>&1) || fail "the kit's node does not run here: $NODE_V"
say "node $NODE_V from the kit ($W/bin/node); unpacked in $(( $(date +%s) - T0 )) s"

# --- run ----------------------------------------------------------------------------
ARGS=("$@")
[ ${#ARGS[@]} -eq 0 ] && ARGS=(--require-gpu)
say "running: node device-check.mjs --json \$OUT/device-check.json --run-dir $RUN_DIR ${ARGS[*]}  (time guard ${LIMIT_S} s)"
rm -rf "$RUN_DIR"  # a fresh run record: nothing of an earlier run is copied back
timeout -s TERM -k 30 "$LIMIT_S" "$W/bin/node" "$W/device-check.mjs" \
  --json "$OUT_DIR/device-check.json" --run-dir "$RUN_DIR" "${ARGS[@]}"
rc=$?
[ $rc -eq 124 ] && say "the time guard (${LIMIT_S} s) stopped device-check: the JSON holds what was measured until then"

if [ $rc -eq 3 ]; then
  say "no GPU adapter: recording the Vulkan loader's view in vulkan-loader.log"
  VK_LOADER_DEBUG=error,warn,info,driver timeout 60 "$W/bin/node" "$W/device-check.mjs" --skip-matmul --skip-pretrain \
    >"$OUT_DIR/vulkan-loader.log" 2>&1
fi

# the run record (optimizer.safetensors stays: the run tool returns at most 8 files)
if [ -d "$RUN_DIR" ]; then
  mkdir -p "$OUT_DIR/pretrain-default"
  for f in summary.json metrics.jsonl config.json model.safetensors; do
    [ -f "$RUN_DIR/$f" ] && cp "$RUN_DIR/$f" "$OUT_DIR/pretrain-default/"
  done
fi
say "exit $rc after $(( $(date +%s) - T0 )) s; outputs in $OUT_DIR: $(cd "$OUT_DIR" && find . -type f | sort | tr '\n' ' ')"
end $rc

#!/usr/bin/env bash
# Installs what is missing, configures once, and builds incrementally (Ninja, ccache).
# Usage: scripts/build.sh [extra cmake args]   (build dir: $WEFT_BUILD_DIR or build/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WEFT_BUILD_DIR:-$root/build}
bash "$root/scripts/install-deps.sh"
if [ ! -f "$build/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
fi
# WEFT_BUILD_TARGETS (e.g. "weftc weft-run") builds only those; empty builds everything.
ninja -C "$build" ${WEFT_BUILD_TARGETS:-}

#!/usr/bin/env bash
# The whole test suite: installs, builds, then runs lit and gtest through ctest.
# This is the README's test command and what CI (.ci/run) runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WEFT_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j2

#!/usr/bin/env bash
# The main job on the embedded default. Until the runtime lands (issue 3) it
# compiles and summarises every example model and a generated GPT-2 124M.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WEFT_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh"
for model in "$root"/examples/*.mlir; do
  echo "== $(basename "$model")"
  "$build/bin/weftc" "$model" --stats
done
echo "== GPT-2 124M (generated)"
"$build/bin/weftc" --generate=gpt --layers=12 --hidden=768 --heads=12 --vocab=50257 --seq=1024 --batch=8 --stats

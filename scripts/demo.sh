#!/usr/bin/env bash
# The main job on the embedded default: compile every example model and run
# it on the CPU backend (seeded parameters, synthetic inputs). Training on
# several simulated devices arrives with issues 4 and 5.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WEFT_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh"
out=$(mktemp -d)
for model in "$root"/examples/*.mlir; do
  name=$(basename "$model" .mlir)
  echo "== $name"
  "$build/bin/weftc" "$model" --stats | grep -E "^(parameters|forward FLOPs)"
  "$build/bin/weftc" "$model" -o "$out/$name.weft"
  "$build/bin/weft-run" "$out/$name.weft" --steps=5 --seed=1
done
echo "== GPT-2 124M (generated): parameters and FLOPs"
"$build/bin/weftc" --generate=gpt --layers=12 --hidden=768 --heads=12 --vocab=50257 --seq=1024 --batch=8 --stats \
  | grep -E "^(parameters|forward FLOPs)"
rm -rf "$out"

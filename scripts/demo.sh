#!/usr/bin/env bash
# The main job on the embedded default (the CPU backend): compile every
# example model into a training step (AdamW) for 4 simulated devices (data
# parallel: each device takes a quarter of the batch, gradients are averaged
# between them) and train it for 300 steps on synthetic data it can learn,
# showing the loss fall; then a GPT on all three axes (data, tensor and
# pipeline parallel) on 8 simulated devices.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WEFT_BUILD_DIR:-$root/build}
# The tools only: the tests, the ASan runtime and the GPU test binaries are
# test.sh's to build.
WEFT_BUILD_TARGETS="weftc weft-run weft-dump" bash "$root/scripts/build.sh"
out=$(mktemp -d)
for name in gpt_tiny bert_tiny lstm_lm mlp; do
  echo "== $name: weftc examples/$name.mlir --mesh=dp=4 --train=adamw --lr=3e-3, then 300 steps"
  "$build/bin/weftc" "$root/examples/$name.mlir" --stats | grep -E "^(parameters|forward FLOPs)"
  "$build/bin/weftc" "$root/examples/$name.mlir" --mesh=dp=4 --train=adamw --lr=3e-3 -o "$out/$name.weft"
  "$build/bin/weft-dump" "$out/$name.weft" | grep -E "^(mesh|collectives)"
  "$build/bin/weft-run" "$out/$name.weft" --steps=300 --data=synthetic --seed=1 \
    --save="$out/$name.safetensors" --report="$out/$name.json"
done
echo "== a 4-layer GPT on dp=2 x tp=2 x pp=2 (8 simulated devices, 1F1B over 4 microbatches), 100 steps"
"$build/bin/weftc" --generate=gpt --layers=4 -o "$out/gpt4.mlir"
"$build/bin/weftc" "$out/gpt4.mlir" --mesh=dp=2,tp=2,pp=2 --microbatches=4 --train=adamw --lr=3e-3 -o "$out/gpt4.weft"
"$build/bin/weft-dump" "$out/gpt4.weft" --schedule | head -4
"$build/bin/weft-run" "$out/gpt4.weft" --steps=100 --data=synthetic --seed=1
echo "== GPT-2 124M (generated): parameters and FLOPs"
"$build/bin/weftc" --generate=gpt --layers=12 --hidden=768 --heads=12 --vocab=50257 --seq=1024 --batch=8 --stats \
  | grep -E "^(parameters|forward FLOPs)"
rm -rf "$out"

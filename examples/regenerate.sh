#!/usr/bin/env bash
# Rewrites the example models from their generators. A lit test
# (tests/lit/examples/examples.mlir) checks that they stay in sync.
# Usage: examples/regenerate.sh [build/bin/weftc]
set -euo pipefail
cd "$(dirname "$0")"
weftc=${1:-../build/bin/weftc}
# Batch, heads, hidden size and vocabulary are divisible by 8, so every dp x tp mesh
# of up to 8 devices applies.
"$weftc" --generate=mlp  --layers=2 --hidden=128 --features=64 --classes=16 --batch=32 -o mlp.mlir
"$weftc" --generate=lstm --layers=2 --hidden=64 --vocab=64 --seq=16 --batch=8 -o lstm_lm.mlir
"$weftc" --generate=bert --layers=2 --hidden=64 --heads=8 --vocab=128 --seq=32 --batch=8 -o bert_tiny.mlir
"$weftc" --generate=gpt  --layers=2 --hidden=64 --heads=8 --vocab=128 --seq=32 --batch=8 -o gpt_tiny.mlir

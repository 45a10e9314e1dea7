#!/usr/bin/env bash
# bench/gpu/gpt2_train on a lent GPU machine: its image has PyTorch, Triton
# and JAX with CUDA, so nothing needs carrying. From this machine, with the
# device tool:
#   run(command="bash bench/gpu/gpt2_train/run.sh", timeout_s=600)
# The table is the last thing printed; results.jsonl, results.md and each
# peer's log come back under $OUT. Here, without a GPU:
#   bash bench/gpu/gpt2_train/run.sh --smoke     (a tiny model on the CPU)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv || true
exec python3 "$here/bench.py" "$@"
